"""The classifier in MLflow: logged with the scikit-learn flavour, served through its pyfunc.

The pyfunc predicts with ``predict_proba``, so ``mlflow models serve``, ``mlwb serve``'s
``/invocations`` and ``mlflow.pyfunc.load_model(uri).predict(frame)`` all answer
``[P(died), P(survived)]`` per passenger, from the same pickled Pipeline.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from mlworkbench.errors import DataError
from mlworkbench.models.pyfunc import ids_are_integers, load_pyfunc

_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops")
# Saved with skops (no arbitrary pickle): the types outside scikit-learn it may rebuild.
TRUSTED_TYPES = ["mlworkbench.models.classifier.PassengerEncoder",
                 "mlworkbench.models.classifier.SerialBoostingClassifier", "numpy.dtype",
                 "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


def log_classifier(pipeline: Any, features: pd.DataFrame, registered_model_name: str | None,
                   schema: dict[str, Any]) -> Any:
    """Log a fitted Pipeline in the active run; signature and example from ``features``."""
    example = features.head(3)
    with ids_are_integers():
        signature = infer_signature(features, pipeline.predict_proba(example))
        return mlflow.sklearn.log_model(
            pipeline, name="model", signature=signature, input_example=example,
            pip_requirements=[f"{name}=={version(name)}" for name in _REQUIREMENTS],
            registered_model_name=registered_model_name, pyfunc_predict_fn="predict_proba",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            skops_trusted_types=TRUSTED_TYPES,
            metadata={"features": list(features.columns), "data_schema": schema},
        )


def classifier_of(pyfunc: Any, model_uri: str) -> Any:
    """The scikit-learn Pipeline inside a loaded pyfunc; DataError for any other model."""
    try:
        model = pyfunc.get_raw_model()
    except NotImplementedError:
        model = None
    if not (hasattr(model, "predict_proba") and hasattr(model, "steps")):
        raise DataError(f"model {model_uri!r} is not an mlworkbench classifier")
    return model


def load_classifier(model_uri: str) -> tuple[Any, Any]:
    """The Pipeline behind ``model_uri`` and the pyfunc it came from."""
    pyfunc = load_pyfunc(model_uri)
    return classifier_of(pyfunc, model_uri), pyfunc


def survival(pipeline: Any, features: pd.DataFrame) -> np.ndarray:
    """P(survived) per row."""
    return pipeline.predict_proba(features)[:, 1]
