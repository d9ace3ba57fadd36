"""The jobs table: what the jobs service was asked to run, and how each job went.

A job is queued, then running, then succeeded or failed. At most one job per registered
model is active (queued or running): :meth:`JobStore.submit` checks and inserts inside one
write transaction (the store's write lock), so two services on one store cannot both
start a job for the same model. A service that was killed leaves active rows behind;
when the next one starts it marks them failed (:meth:`JobStore.fail_unfinished`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mlworkbench.data.engine import writing
from mlworkbench.data.predictions import store_engine, translated
from mlworkbench.data.tables import ACTIVE_JOB_STATES, jobs
from mlworkbench.errors import DataError


class JobConflictError(DataError):
    """A model already has an active job."""

    def __init__(self, model_name: str, job_id: int) -> None:
        self.model_name = model_name
        self.job_id = job_id
        super().__init__(f"model {model_name!r} already has job {job_id} queued or running; "
                         f"wait for it (GET /jobs/{job_id}) and submit again")


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    model_name: str
    family: str
    params: dict[str, Any]
    state: str
    progress: dict[str, Any] | None
    run_ids: list[str]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        found = dict(vars(self))
        for key in ("created_at", "started_at", "finished_at"):
            moment = found[key]
            found[key] = None if moment is None else moment.isoformat() + "Z"
        return found


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class JobStore:
    """The jobs of the data store at ``url`` (migrated on first use)."""

    def __init__(self, url: str) -> None:
        self.engine = store_engine(url)

    def submit(self, kind: str, model_name: str, family: str, params: dict[str, Any]) -> Job:
        """A new queued job; :class:`JobConflictError` when the model has an active one."""
        with translated("queue a job"), writing(self.engine) as connection:
            active = connection.execute(
                sa.select(jobs.c.id).where(jobs.c.model_name == model_name,
                                           jobs.c.state.in_(ACTIVE_JOB_STATES))
                .order_by(jobs.c.id).limit(1)).scalar()
            if active is not None:
                raise JobConflictError(model_name, int(active))
            job_id = connection.execute(jobs.insert().values(
                kind=kind, model_name=model_name, family=family, params=params,
                state="queued", run_ids=[], created_at=_now())).inserted_primary_key[0]
        return self.get(int(job_id))

    def _update(self, job_id: int, **values: Any) -> None:
        with translated(f"update job {job_id}"), writing(self.engine) as connection:
            connection.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def start(self, job_id: int) -> None:
        self._update(job_id, state="running", started_at=_now())

    def progress(self, job_id: int, stage: str, done: int, total: int) -> None:
        self._update(job_id, progress={"stage": stage, "done": done, "total": total})

    def succeed(self, job_id: int, result: dict[str, Any], run_ids: list[str]) -> None:
        self._update(job_id, state="succeeded", result=result, run_ids=run_ids,
                     finished_at=_now())

    def fail(self, job_id: int, error: str) -> None:
        self._update(job_id, state="failed", error=error, finished_at=_now())

    def fail_unfinished(self, reason: str) -> list[int]:
        """Mark every queued or running job failed (their runner is gone); their ids."""
        with translated("fail unfinished jobs"), writing(self.engine) as connection:
            ids = list(connection.execute(sa.select(jobs.c.id).where(
                jobs.c.state.in_(ACTIVE_JOB_STATES))).scalars())
            if ids:
                connection.execute(jobs.update().where(jobs.c.id.in_(ids)).values(
                    state="failed", error=reason, finished_at=_now()))
        return [int(i) for i in ids]

    def get(self, job_id: int) -> Job | None:
        with translated(f"read job {job_id}"), self.engine.connect() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return None if row is None else Job(**row)

    def list(self, model_name: str | None = None, state: str | None = None,
             limit: int = 50) -> list[Job]:
        """Jobs, newest first."""
        query = sa.select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if model_name is not None:
            query = query.where(jobs.c.model_name == model_name)
        if state is not None:
            query = query.where(jobs.c.state == state)
        with translated("list jobs"), self.engine.connect() as connection:
            return [Job(**row) for row in connection.execute(query).mappings()]

    def counts(self) -> dict[tuple[str, str], int]:
        """Jobs by (kind, state)."""
        query = sa.select(jobs.c.kind, jobs.c.state, sa.func.count()).group_by(
            jobs.c.kind, jobs.c.state)
        with translated("count jobs"), self.engine.connect() as connection:
            return {(kind, state): int(n) for kind, state, n in connection.execute(query)}
