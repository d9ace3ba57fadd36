"""The door to MLflow tracking and registry: configure it, check it, translate its errors."""

from __future__ import annotations

import contextlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlworkbench.config import Settings
from mlworkbench.errors import (
    ModelNotFoundError,
    TrackingError,
    TrackingUnavailableError,
)

logger = logging.getLogger(__name__)
_HEALTH_TIMEOUT_S = 3.0


def check_reachable(uri: str) -> None:
    """Fail fast, with advice, when a tracking server does not answer its health check."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=_HEALTH_TIMEOUT_S):
            pass
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingUnavailableError(
            f"cannot reach the MLflow tracking server at {uri} ({reason}); start it "
            "(`mlwb up`) or unset MLWB_TRACKING_URI/MLFLOW_TRACKING_URI to use the embedded store"
        ) from exc


_SET_HERE: dict[str, str] = {}  # the credentials this process put into its environment


def _credential(name: str, value: str) -> None:
    """MLflow reads credentials from the environment: set ``name`` unless the user set it
    (theirs win); a value set here earlier for another server is replaced, not kept."""
    current = os.environ.get(name)
    if current is None or current == _SET_HERE.get(name):
        os.environ[name] = _SET_HERE[name] = value


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow at the settings' stores and return a client for them."""
    uri = settings.resolved_tracking_uri
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if uri.startswith("sqlite:///"):
        settings.home.mkdir(parents=True, exist_ok=True)
    check_reachable(uri)
    if settings.tracking_username and settings.tracking_password:
        _credential("MLFLOW_TRACKING_USERNAME", settings.tracking_username)
        _credential("MLFLOW_TRACKING_PASSWORD", settings.tracking_password)
    users_choice = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(settings.resolved_registry_uri)
    # MLflow also writes the URI into MLFLOW_TRACKING_URI; leaving it there would make the
    # next Settings in this process mistake our choice for the user's.
    if users_choice is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = users_choice
    return MlflowClient(tracking_uri=uri, registry_uri=settings.resolved_registry_uri)


def ensure_experiment(client: MlflowClient, settings: Settings) -> str:
    """The experiment's id, creating it (artifacts under the workspace) when missing."""
    with translated("open the experiment"):
        experiment = client.get_experiment_by_name(settings.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(
            settings.experiment_name, artifact_location=settings.artifact_location
        )


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn MLflow's exceptions into mlworkbench's, naming what was being done."""
    try:
        yield
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in message.lower():
            raise ModelNotFoundError(f"cannot {action}: {message}") from exc
        raise TrackingError(f"cannot {action}: {message}") from exc
    except OSError as exc:
        raise TrackingError(f"cannot {action}: {exc}") from exc
