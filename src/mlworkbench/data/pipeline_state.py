"""The continuous-training pipeline's row per model: its lock, its cooldown, its failures.

Taking the lock is one write transaction (the store's write lock, ``engine.writing``), so two
triggers never both run. A holder that crashed does not keep it: the lock is free when its
lease expired, or at once when its holder ran on this host and its process is gone. A holder
whose run spans processes (one Airflow task per step) takes it *detached*: no process is
named, only the lease counts. A live holder renews its lease while it works.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mlworkbench.data import tables as t
from mlworkbench.data.engine import translated, writing
from mlworkbench.data.processes import process_alive

S = t.pipeline_state.c


@dataclass(frozen=True)
class State:
    """A model's row as read when the lock was asked for."""

    model_name: str
    holder: str | None = None
    host: str | None = None
    pid: int | None = None
    expires_at: datetime | None = None
    started_at: datetime | None = None
    last_run_at: datetime | None = None
    last_outcome: str | None = None
    failures: int = 0


def now() -> datetime:
    """Naive UTC, as the table stores it."""
    return datetime.now(UTC).replace(tzinfo=None)


def holder_gone(state: State, at: datetime) -> bool:
    """Whether a held lock may be taken over: lease over, or its process dead here."""
    if state.holder is None:
        return True
    if state.expires_at is not None and state.expires_at <= at:
        return True
    return (state.host == socket.gethostname() and state.pid is not None
            and not process_alive(state.pid))


def read(engine: sa.Engine, model_name: str) -> State:
    with translated("read the pipeline state"), engine.connect() as connection:
        row = connection.execute(sa.select(t.pipeline_state).where(
            S.model_name == model_name)).mappings().first()
    return State(**row) if row else State(model_name)


def acquire(engine: sa.Engine, model_name: str, lease_seconds: float,
            may_run: Callable[[State], str | None],
            detached: bool = False) -> tuple[str | None, State]:
    """Take ``model_name``'s lock when it is free and ``may_run(state)`` has no objection.

    Returns (holder token, state before) on success, (None, state) when held by a live
    holder or refused; ``may_run`` returns a reason to refuse (cooldown...) or None.
    ``detached``: the lock outlives this process (only its lease frees it).
    """
    at = now()
    with translated("take the pipeline lock"), writing(engine) as connection:
        row = connection.execute(sa.select(t.pipeline_state).where(
            S.model_name == model_name)).mappings().first()
        state = State(**row) if row else State(model_name)
        if not holder_gone(state, at) or may_run(state) is not None:
            return None, state
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        values = {"holder": token, "host": socket.gethostname(),
                  "pid": None if detached else os.getpid(),
                  "expires_at": at + timedelta(seconds=lease_seconds), "started_at": at}
        if row is None:
            connection.execute(t.pipeline_state.insert().values(
                model_name=model_name, failures=0, **values))
        else:
            connection.execute(t.pipeline_state.update().where(
                S.model_name == model_name).values(**values))
        return token, state


def renew(engine: sa.Engine, model_name: str, holder: str, lease_seconds: float) -> bool:
    """Push the lease of ``holder`` ``lease_seconds`` past now; False when it holds no more."""
    with translated("renew the pipeline lock"), writing(engine) as connection:
        done = connection.execute(t.pipeline_state.update().where(
            S.model_name == model_name, S.holder == holder).values(
            expires_at=now() + timedelta(seconds=lease_seconds)))
        return bool(done.rowcount)


def release(engine: sa.Engine, model_name: str, holder: str, outcome: str,
            retrained: bool) -> None:
    """Free the lock ``holder`` took; a run that retrained starts the cooldown, a failed one
    counts against the retry budget, any other outcome resets it."""
    values: dict[str, object] = {"holder": None, "host": None, "pid": None, "expires_at": None,
                                 "last_outcome": outcome}
    if retrained:
        values["last_run_at"] = now()
    values["failures"] = S.failures + 1 if outcome == "failed" else 0
    with translated("free the pipeline lock"), writing(engine) as connection:
        connection.execute(t.pipeline_state.update().where(
            S.model_name == model_name, S.holder == holder).values(**values))



