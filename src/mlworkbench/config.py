"""Settings from ``MLWB_*`` environment variables, with the embedded default.

Nothing set means the embedded profile: an SQLite tracking store and local
artifacts under ``MLWB_HOME`` (``./.mlwb``). Every URI the code uses is derived
here; no other module reads the environment.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlworkbench.errors import ConfigError

RECOMMENDER_MODEL_NAME = "movielens-recommender"
CLASSIFIER_MODEL_NAME = "titanic-classifier"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
STACK_FILE = Path("stack") / "stack.json"  # under the workspace: what `mlwb up` publishes

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Typed settings; read them through :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="MLWB_", extra="ignore")

    home: Path = Field(default=Path(".mlwb"), description="workspace directory")
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; falls back to MLFLOW_TRACKING_URI"
    )
    registry_uri: str | None = Field(default=None, description="MLflow registry URI")
    tracking_username: str | None = Field(
        default=None, description="user of a tracking server with basic auth (the stack's)"
    )
    tracking_password: str | None = Field(default=None, description="its password")
    experiment_name: str = "mlworkbench"
    recommender_model_name: str = RECOMMENDER_MODEL_NAME
    classifier_model_name: str = CLASSIFIER_MODEL_NAME
    seed: int = 42
    fit_threads: int = Field(default=0, ge=0, le=256, description="implicit threads; 0 = all")

    # Apache Spark, the engine of `--engine spark`: its cluster, driver heap and exchange folder.
    spark_master: str = Field(default="local[*]", description="Spark master URL (spark://h:7077)")
    spark_driver_memory: str = Field(default="4g", pattern=r"^[0-9]+[kmgt]$",
                                     description="heap of the Spark driver (local mode: all)")
    spark_data_dir: Path | None = Field(
        default=None, description="where Spark reads its input Parquet and writes factors; "
        "default <home>/spark; every executor must read it")
    spark_exchange: str | None = Field(
        default=None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,62}(/.*)?$",
        description="s3://bucket/prefix: the exchange on the store's S3 instead of "
        "spark_data_dir (a cluster reads it as s3a://; needs hadoop-aws there)")

    # The recommendation service (`mlwb serve`) and its prediction log.
    database_url: str | None = Field(
        default=None, description="data store (SQLAlchemy URL); default sqlite:///<home>/data.db"
    )
    serve_host: str = Field(default="127.0.0.1", description="address `mlwb serve` binds to")
    serve_port: int = Field(default=5001, ge=1, le=65535, description="port of `mlwb serve`")
    serve_workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes")
    serve_pin_workers: bool = Field(
        default=True, description="with as many workers as CPUs: worker i on CPU i and its own "
        "socket, connections steered to the worker on their CPU and kept even between workers "
        "(serving/pinned_workers.py)"
    )
    serve_model: str | None = Field(
        default=None, description="model reference a worker loads (set by `mlwb serve`)"
    )
    serve_family: str | None = Field(
        default=None, description="model family a worker serves (set by `mlwb serve`)"
    )
    admin_token: str | None = Field(
        default=None, description="bearer token for POST /admin/reload; unset disables it"
    )
    alias_poll_seconds: float = Field(
        default=10.0, ge=0, le=86400, description="how often to check the alias; 0 = never"
    )
    max_batch_users: int = Field(default=10_000, ge=1, le=1_000_000,
                                 description="ids (or records) in one request, at most")
    prediction_log_buffer: int = Field(
        default=100_000, ge=0, le=10_000_000, description="rows held while the store is slow"
    )
    prediction_log_flush_seconds: float = Field(default=1.0, gt=0, le=3600)
    prediction_log_journal_bytes: int = Field(
        default=1 << 30, ge=0, description="local journal for rows the store cannot take, at most"
    )
    store_timeout_seconds: float = Field(
        default=2.0, gt=0, le=600, description="longest a request or a write waits on the store"
    )
    max_body_bytes: int = Field(default=4 << 20, ge=1024, le=1 << 30,
                                description="request body size, at most (more gets 413 unread)")
    shadow_share: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="share of requests also scored by the challenger, off the response path; "
                    "0 = off")
    shadow_queue: int = Field(default=1_000, ge=1, le=1_000_000,
                              description="requests waiting for shadow scoring, at most")

    # The continuous-training pipeline (`mlwb pipeline run`): when it retrains, how it gates,
    # whom it asks whether the new version is served, and what keeps it from storming.
    pipeline_min_new_rows: int = Field(
        default=1000, ge=1, description="new validated rows since the champion's data that "
        "trigger a retrain on their own")
    pipeline_every_seconds: float | None = Field(
        default=None, ge=0, description="retrain on schedule when the last retrain is older "
        "than this (unset: only drift or new data trigger one)")
    pipeline_cooldown_seconds: float = Field(
        default=600.0, ge=0, description="after a run, triggers wait this long (force skips it)")
    pipeline_max_failures: int = Field(
        default=3, ge=1, description="failed runs in a row before the pipeline pauses")
    pipeline_failure_pause_seconds: float = Field(
        default=3600.0, ge=0, description="how long it pauses after max failures")
    pipeline_lease_seconds: float = Field(
        default=1800.0, gt=0, description="a lock older than this is free even if its holder "
        "cannot be checked (another host)")
    pipeline_min_gain: float = Field(default=0.0, ge=0, description="least gain that promotes")
    pipeline_tolerance: float = Field(
        default=0.02, ge=0, description="how much worse on the reference window a challenger "
        "may be (no forgetting)")
    pipeline_tune: bool = Field(default=False, description="retrain with a small grid search")
    pipeline_serving_urls: list[str] = Field(
        default_factory=list, description="serving processes that must answer with the new "
        "version (JSON list); empty: none checked")
    pipeline_verify_seconds: float = Field(
        default=60.0, gt=0, description="how long verify waits before it rolls back")
    gate_shadow_min_lists: int = Field(
        default=0, ge=0, description="judged shadow lists a retrained challenger needs before "
        "the gate weighs it (two-phase loop: retrain, shadow, then gate); 0 = gate at once")
    gate_shadow_tolerance: float = Field(
        default=0.0, ge=0, description="how much lower the challenger's online hit rate in "
        "shadow may be than the champion's on the same requests")
    canary_users: int = Field(default=200, ge=1,
                              description="served users the canary judges the new champion on")
    canary_margin: float = Field(default=0.05, ge=0,
                                 description="online hit-rate drop that rolls back")

    # The local stack (`mlwb up`): every port can be moved with MLWB_<NAME>.
    stack_host: str = Field(default="127.0.0.1", description="address the stack binds to")
    mlflow_port: Port = 5000
    jobs_port: Port = 5002
    monitoring_port: Port = 5003
    evidently_port: Port = 8000
    stack_loop: bool = Field(
        default=True, description="`mlwb up` also runs the loop's own actors: the data fill and "
        "the pipeline scheduler")
    fill_every_seconds: float = Field(
        default=60.0, gt=0, description="`mlwb up`'s data fill: pause between production batches")
    fill_batch_size: int = Field(default=1000, ge=1, le=1_000_000,
                                 description="`mlwb up`'s data fill: rows per batch")
    schedule_every_seconds: float = Field(
        default=600.0, ge=1, description="`mlwb up`'s scheduler: how often the pipeline runs "
        "(its check decides whether to retrain)")
    simulator_port: Port = 5004
    classifier_port: Port = 1234
    postgres_port: Port = 5433
    s3_port: Port = 9000
    s3_aux_port: Port = Field(
        default=9333, description="first of 4 ports SeaweedFS uses inside (each +10000 for gRPC)"
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="an existing S3 (MinIO, AWS); the stack then starts none"
    )
    s3_access_key_id: str = "mlwb"
    s3_secret_access_key: str = "mlwb-secret"
    s3_bucket: str = "mlflow"
    backend_store_uri: str | None = Field(
        default=None, description="an existing MLflow backend store; the stack then starts no "
        "PostgreSQL"
    )
    mlflow_auth: bool = Field(
        default=True, description="the stack's MLflow server asks for a user (basic auth)"
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    def registered_model_name(self, family: str) -> str:
        """The registered model ``family``'s runs become versions of: MLWB_<FAMILY>_MODEL_NAME."""
        return getattr(self, f"{family}_model_name")

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

    @property
    def resolved_database_url(self) -> str:
        """MLWB_DATABASE_URL, else the embedded SQLite data store in the workspace."""
        return self.database_url or f"sqlite:///{self.home / 'data.db'}"

    @property
    def resolved_spark_data_dir(self) -> Path:
        return (self.spark_data_dir or self.home / "spark").expanduser().resolve()

    @property
    def stack_dir(self) -> Path:
        """Where the local stack keeps its supervisor, logs and data."""
        return self.home / STACK_FILE.parent

    @property
    def resolved_s3_endpoint_url(self) -> str:
        return self.s3_endpoint_url or f"http://{self.stack_host}:{self.s3_port}"

    @property
    def stack_tracking_uri(self) -> str:
        """The tracking server the stack runs."""
        return f"http://{self.stack_host}:{self.mlflow_port}"


def _published_by_stack(home: Path) -> dict[str, Any]:
    """What a running ``mlwb up`` wrote to the workspace, less what the environment overrides."""
    try:
        values = json.loads((home / STACK_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(values, dict):
        return {}
    environment = {key.upper() for key in os.environ}
    if "MLFLOW_TRACKING_URI" in environment:  # MLflow's own variable beats the workspace file
        values.pop("tracking_uri", None)
    return {key: value for key, value in values.items() if f"MLWB_{key.upper()}" not in environment}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; tests call ``get_settings.cache_clear()``."""
    try:
        settings = Settings()
        published = _published_by_stack(settings.home)
        return Settings(**published) if published else settings
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"setting MLWB_{field.upper()} is invalid: {first['msg']}"
        ) from exc
