"""What is being served."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mlworkbench.serving.deps import ModelDep, ServiceDep
from mlworkbench.serving.encoding import dumps
from mlworkbench.serving.schemas import ErrorResponse, ModelInfo

router = APIRouter(tags=["model"])


@router.get("/model", response_model=ModelInfo, responses={503: {"model": ErrorResponse}})
async def model_info(model: ModelDep, service: ServiceDep) -> Response:
    """Name, version, alias, run id, training metrics, dataset digest and when it was loaded;
    ``last_error``: the last failed load (version, error, time, attempts) since then, or null."""
    failure = service.holder.last_failure
    body = {**model.describe(), "last_error": None if failure is None else failure.describe(),
            "shadow": service.shadow.describe()}
    return Response(dumps(body), media_type="application/json", headers=model.headers)
