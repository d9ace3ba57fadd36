"""What is being served."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mlworkbench.serving.deps import ModelDep
from mlworkbench.serving.encoding import dumps
from mlworkbench.serving.schemas import ErrorResponse, ModelInfo

router = APIRouter(tags=["model"])


@router.get("/model", response_model=ModelInfo, responses={503: {"model": ErrorResponse}})
async def model_info(model: ModelDep) -> Response:
    """Name, version, alias, run id, training metrics, dataset digest and when it was loaded."""
    return Response(dumps(model.describe()), media_type="application/json", headers=model.headers)
