"""Settings from ``MLWB_*`` environment variables, with the embedded default.

Nothing set means the embedded profile: an SQLite tracking store and local
artifacts under ``MLWB_HOME`` (``./.mlwb``). Every URI the code uses is derived
here; no other module reads the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlworkbench.errors import ConfigError

RECOMMENDER_MODEL_NAME = "movielens-recommender"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"


class Settings(BaseSettings):
    """Typed settings; read them through :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="MLWB_", extra="ignore")

    home: Path = Field(default=Path(".mlwb"), description="workspace directory")
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; falls back to MLFLOW_TRACKING_URI"
    )
    registry_uri: str | None = Field(default=None, description="MLflow registry URI")
    experiment_name: str = "mlworkbench"
    recommender_model_name: str = RECOMMENDER_MODEL_NAME
    seed: int = 42
    blas_threads: int = Field(default=1, ge=1, le=256)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def resolved_tracking_uri(self) -> str:
        """MLWB_TRACKING_URI, else MLflow's own MLFLOW_TRACKING_URI, else the embedded SQLite."""
        if self.tracking_uri:
            return self.tracking_uri
        from_mlflow = os.environ.get("MLFLOW_TRACKING_URI")
        if from_mlflow:
            return from_mlflow
        return f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def resolved_registry_uri(self) -> str:
        return self.registry_uri or self.resolved_tracking_uri

    @property
    def artifact_location(self) -> str | None:
        """Where new experiments keep artifacts; None lets a tracking server decide."""
        if self.resolved_tracking_uri.startswith(("http://", "https://", "databricks")):
            return None
        return (self.home / "artifacts").as_uri()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call ``get_settings.cache_clear()``."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"setting MLWB_{field.upper()} is invalid: {first['msg']}"
        ) from exc
