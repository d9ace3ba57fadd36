"""MLflow pyfunc adapters, so every consumer loads every model family the same way.

``mlflow.pyfunc.load_model(uri).predict(pd.DataFrame({"user_id": [...]}))``
returns one row per (user, rank) with item id, title, score and whether the
answer is the popular-items fallback. ``unwrap_python_model().recommender``
hands the serving layer the very same :class:`Recommender` object.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from mlworkbench.errors import DataError, MlwbError
from mlworkbench.models.recommender import Recommendations, Recommender
from mlworkbench.tracking.client import translated

ARTIFACT_KEY = "recommender"
FALLBACK_POPULAR = "popular"
_REQUIREMENTS = ("mlflow", "implicit", "numpy", "scipy", "pandas", "threadpoolctl")

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("long", "user_id")]),
    outputs=Schema(
        [
            ColSpec("long", "user_id"),
            ColSpec("long", "rank"),
            ColSpec("long", "item_id"),
            ColSpec("string", "title"),
            ColSpec("float", "score"),
            ColSpec("string", "fallback", required=False),
        ]
    ),
    params=ParamSchema([ParamSpec("k", "long", 10), ParamSpec("exclude_seen", "boolean", True)]),
)


def recommendations_frame(recommender: Recommender, recs: Recommendations) -> pd.DataFrame:
    """Long format: one row per (user, rank); padding (-1 items) left out."""
    n_users, width = recs.item_ids.shape
    valid = (recs.item_ids >= 0).ravel()
    items = recs.item_ids.ravel()[valid]
    fallback = np.where(recs.fallback, FALLBACK_POPULAR, None)
    return pd.DataFrame(
        {
            "user_id": np.repeat(recs.user_ids, width)[valid],
            "rank": np.tile(np.arange(1, width + 1), n_users)[valid],
            "item_id": items,
            "title": recommender.titles[recommender.item_rows(items)] if len(items) else [],
            "score": recs.scores.ravel()[valid],
            "fallback": np.repeat(fallback, width)[valid],
        }
    )


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):
    """Top-k recommendations with titles for a frame of user ids."""

    recommender: Recommender

    def load_context(self, context: Any) -> None:
        self.recommender = Recommender.load(context.artifacts[ARTIFACT_KEY])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        params = params or {}
        if not isinstance(model_input, pd.DataFrame) or "user_id" not in model_input:
            raise DataError("the model expects a DataFrame with a 'user_id' column")
        recs = self.recommender.recommend(
            model_input["user_id"].to_numpy(dtype=np.int64),
            k=int(params.get("k", 10)),
            exclude_seen=bool(params.get("exclude_seen", True)),
        )
        return recommendations_frame(self.recommender, recs)


@contextlib.contextmanager
def ids_are_integers() -> Iterator[None]:
    """Silence MLflow's hint that integer columns cannot hold missing values: ids never do."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        yield


def pip_requirements() -> list[str]:
    """Pinned to what is installed: explicit, so MLflow does not spend seconds inferring."""
    return [f"{name}=={version(name)}" for name in _REQUIREMENTS]


def log_recommender(
    recommender: Recommender, name: str = "model", registered_model_name: str | None = None
) -> Any:
    """Log ``recommender`` as a pyfunc model in the active run; returns MLflow's ModelInfo."""
    example = pd.DataFrame({"user_id": recommender.user_ids[:2]})
    with tempfile.TemporaryDirectory(prefix="mlwb-model-") as tmp, ids_are_integers():
        recommender.save(tmp)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts={ARTIFACT_KEY: tmp},
            signature=SIGNATURE,
            input_example=example,
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )


def load_pyfunc(model_uri: str) -> Any:
    """MLflow's pyfunc for ``model_uri``, any flavour; errors translated.

    Call :func:`mlworkbench.tracking.client.configure` first so that ``models:/``
    references resolve against the configured registry.
    """
    with translated(f"load model {model_uri!r}"):
        try:
            return mlflow.pyfunc.load_model(model_uri)
        except (MlflowException, OSError, MlwbError):
            raise  # translated (MLflow, OS) or already ours
        except Exception as exc:  # a broken artifact: unpickling, imports, a library's own error
            raise DataError(f"cannot load model {model_uri!r}: {type(exc).__name__}: {exc}") \
                from exc


def recommender_of(pyfunc: Any, model_uri: str) -> Recommender:
    """The :class:`Recommender` inside a loaded pyfunc; DataError for any other model."""
    try:
        python_model = pyfunc.unwrap_python_model()
    except Exception:  # MLflow raises MlflowException for non-python_function models
        python_model = None
    if not isinstance(python_model, RecommenderPyfunc):
        raise DataError(f"model {model_uri!r} is not an mlworkbench recommender")
    return python_model.recommender


def load_recommender(model_uri: str) -> tuple[Recommender, Any]:
    """The :class:`Recommender` inside a logged pyfunc model, and the pyfunc itself."""
    pyfunc = load_pyfunc(model_uri)
    return recommender_of(pyfunc, model_uri), pyfunc
