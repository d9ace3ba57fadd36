"""Models-from-code entry point: MLflow runs this file to build the pyfunc, no pickle involved."""

from __future__ import annotations

import mlflow

from mlworkbench.models.pyfunc import RecommenderPyfunc

mlflow.models.set_model(RecommenderPyfunc())
