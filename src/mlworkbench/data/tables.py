"""The data store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Times of events are unix seconds (``event_time``) so rows round-trip exactly; the
bookkeeping times (``created_at``) are UTC. Every data row names the ingest batch that
brought it, which is how snapshots (sets of batch ids) select data.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# BIGINT primary keys are not rowid aliases on SQLite, so they would not autoincrement there.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EVENT_KEY_INDEX = "ux_interactions_time_user_item"
EVENT_KEY = ("event_time", "user_id", "item_id")

ingest_batches = sa.Table(
    "ingest_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),  # interactions | items | passengers
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("stage", sa.String(32), nullable=False),  # training | testing | production
    sa.Column("received", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_ingest_batches_kind_digest", "kind", "digest"),
)

items = sa.Table(
    "items", metadata,
    sa.Column("item_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("year", sa.Integer, nullable=True),
    sa.Column("genres", sa.String(500), nullable=False, server_default=""),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("ingest_batches.id"), nullable=False),
)

interactions = sa.Table(
    "interactions", metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("item_id", sa.BigInteger, nullable=False),
    sa.Column("rating", sa.Float(precision=53), nullable=False),
    sa.Column("event_time", sa.BigInteger, nullable=False),  # unix seconds
    # No foreign key here on purpose: its per-row trigger makes COPY 3-4x slower, and the
    # batch record is written in the same transaction as its rows anyway.
    sa.Column("batch_id", sa.Integer, nullable=False),
    sa.Index("ix_interactions_batch_id", "batch_id"),
    # one row per event across every batch (migration 2); an incoming duplicate is quarantined.
    # Time first: batches arrive roughly in time order, so the index grows at its end
    # (2.5x faster inserts on SQLite than user first, see benchmarks/ingest.py)
    sa.Index(EVENT_KEY_INDEX, *EVENT_KEY, unique=True),
)

passengers = sa.Table(
    "passengers", metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("pclass", sa.String(8), nullable=False),
    sa.Column("survived", sa.String(16), nullable=True),  # unknown for production rows
    sa.Column("sex", sa.String(8), nullable=False),
    sa.Column("age", sa.Float(precision=53), nullable=True),
    sa.Column("sibsp", sa.Integer, nullable=False),
    sa.Column("parch", sa.Integer, nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("ingest_batches.id"), nullable=False),
    sa.Column("embarked", sa.String(1), nullable=True),  # C | Q | S; absent from the offline data
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("ingest_batches.id"), nullable=False,
              index=True),
    sa.Column("row", sa.Integer, nullable=False),  # 0-based position in what was received
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
)

snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("batch_ids", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# -- what the services served (written by the prediction log, read by monitoring) -------------

def _served_columns() -> list[sa.Column]:
    """The columns every prediction-log table starts with: which response, which model, when."""
    return [
        sa.Column("id", BigId, primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("model_name", sa.String(255), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("role", sa.String(16), nullable=False, server_default="champion"),
        sa.Column("source", sa.String(16), nullable=False),
    ]


prediction_log = sa.Table(  # the recommender's: one row per (response, user)
    "prediction_log", metadata,
    *_served_columns(),
    sa.Column("user_id", sa.BigInteger, nullable=True),  # no index: see migration 6
    sa.Column("fallback", sa.String(32), nullable=True),
    sa.Column("items", sa.Text, nullable=False),  # JSON array of item ids, best first
    sa.Column("scores", sa.Text, nullable=False),  # JSON array of scores, same order
)

classifier_predictions = sa.Table(  # the classifier's: one row per response (see migration 7)
    "classifier_predictions", metadata,
    *_served_columns(),
    sa.Column("passengers", sa.Integer, nullable=False),  # how many the response answered
    # JSON object of arrays, one per field, in the order asked: {"pclass": [1, 3], "sex":
    # ["female", "male"], "age": [29, null], "sibsp": .., "parch": .., "embarked": ..}
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("probabilities", sa.Text, nullable=False),  # JSON array of P(survived), same order
)

precomputed = sa.Table(  # `mlwb recommend-all`: one row per (model version, user, rank)
    "precomputed_recommendations", metadata,
    sa.Column("model_name", sa.String(255), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),  # 0: a model outside the registry
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("item_id", sa.BigInteger, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Index("ix_precomputed_lookup", "model_name", "model_version", "user_id", "rank"),
)

# -- the continuous-training pipeline: one row per model (its lock, cooldown and failures) ----

pipeline_state = sa.Table(
    "pipeline_state", metadata,
    sa.Column("model_name", sa.String(255), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=True),  # who runs it now; NULL: free
    sa.Column("host", sa.String(255), nullable=True),  # the holder's host and process id, so a
    sa.Column("pid", sa.Integer, nullable=True),  # crashed holder on this host is seen at once
    sa.Column("expires_at", sa.DateTime, nullable=True),  # the lease: free after this (UTC)
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("last_run_at", sa.DateTime, nullable=True),  # the last run that retrained
    sa.Column("last_outcome", sa.String(16), nullable=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # failed in a row
)

SERVED_TABLES = {"prediction_log": prediction_log,
                 "classifier_predictions": classifier_predictions}

DATA_TABLES = {"interactions": interactions, "items": items, "passengers": passengers}

# -- work the platform runs (the jobs service, the scheduler) --------------------------------

JOB_STATES = ("queued", "running", "succeeded", "failed")
ACTIVE_JOB_STATES = ("queued", "running")

jobs = sa.Table(  # `mlwb jobs serve`: one row per submitted job (train, tune, pipeline, promote)
    "jobs", metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("model_name", sa.String(255), nullable=False, index=True),
    sa.Column("family", sa.String(32), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("progress", sa.JSON, nullable=True),  # {"stage", "done", "total"}
    sa.Column("run_ids", sa.JSON, nullable=False),  # MLflow runs the job made
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)

# APScheduler 3's SQLAlchemyJobStore table, column for column (it only creates it when
# missing, so the store's migrations own it like every other table).
SCHEDULER_TABLE = "apscheduler_jobs"
scheduler_jobs = sa.Table(
    SCHEDULER_TABLE, metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)
