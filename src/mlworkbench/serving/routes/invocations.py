"""MLflow's scoring protocol (``POST /invocations``, ``GET /ping``, ``GET /version``), answered
by MLflow's own parsing and encoding code over the served version's pyfunc, so a client of
``mlflow models serve`` can switch to ``mlwb serve`` unchanged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mlworkbench.serving.deps import ModelDep

router = APIRouter(tags=["mlflow scoring protocol"])


@router.get("/ping")
async def ping(model: ModelDep) -> Response:
    """Healthy when a model is loaded (as `mlflow models serve` answers; 503 before)."""
    return Response(b"\n", media_type="application/json", headers=model.headers)


@router.get("/version")
async def version() -> Response:
    """The MLflow version whose scoring protocol this service speaks."""
    return Response(scoring_server.VERSION, media_type="application/json")


@router.post("/invocations", responses={
    200: {"description": '`{"predictions": ...}` exactly as `mlflow models serve` answers'},
    400: {"description": "MLflow's error JSON (`error_code`, `message`)"},
    415: {"description": "a content type other than JSON, CSV or Parquet"}})
async def invocations(request: Request, model: ModelDep) -> Response:
    """Score ``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs`` (JSON), or
    CSV / Parquet bodies, with the served version's pyfunc; the answer is MLflow's own."""
    data = await request.body()
    content_type = request.headers.get("content-type") or ""
    pyfunc = model.pyfunc
    try:
        result = await run_in_threadpool(scoring_server.invocations, data, content_type, pyfunc,
                                         pyfunc.metadata.get_input_schema())
    except MlflowException as exc:
        return Response(exc.serialize_as_json(), status_code=exc.get_http_status_code(),
                        media_type="application/json", headers=model.headers)
    return Response(result.response, status_code=result.status, media_type=result.mimetype,
                    headers=model.headers)
