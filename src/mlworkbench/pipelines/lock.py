"""Who may run the pipeline now: one run per model (the store's lock row), a cooldown after
a run that retrained, a pause after too many failures in a row. ``force`` skips the cooldown
and the pause, never the lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from mlworkbench.config import Settings
from mlworkbench.data import pipeline_state
from mlworkbench.data.ingest import open_store
from mlworkbench.pipelines.policy import Policy


@dataclass
class Lease:
    """The lock held for one run (``holder`` set), or why not (``refused`` set)."""

    model_name: str
    holder: str | None
    refused: str | None
    state: pipeline_state.State
    outcome: str = "failed"  # what release records; the run sets it
    retrained: bool = False


def refusal(state: pipeline_state.State, policy: Policy, force: bool) -> str | None:
    """Why a run may not start now (cooldown, retry budget), or None."""
    if force or state.last_run_at is None:
        return None
    since = (pipeline_state.now() - state.last_run_at).total_seconds()
    if state.failures >= policy.max_failures and since < policy.failure_pause_seconds:
        return (f"paused: {state.failures} failed runs in a row; retrying in "
                f"{policy.failure_pause_seconds - since:.0f} s (or run with --force)")
    if since < policy.cooldown_seconds:
        return (f"cooldown: the last run ({state.last_outcome}) ended {since:.0f} s ago; "
                f"next run in {policy.cooldown_seconds - since:.0f} s (or run with --force)")
    return None


@contextmanager
def held(settings: Settings, model_name: str, policy: Policy, force: bool) -> Iterator[Lease]:
    """The model's lock for one run; released (with the run's outcome) on the way out."""
    reasons: list[str] = []

    def may_run(state: pipeline_state.State) -> str | None:
        reason = refusal(state, policy, force)
        if reason:
            reasons.append(reason)
        return reason

    with open_store(settings) as store:
        holder, state = pipeline_state.acquire(store.engine, model_name, policy.lease_seconds,
                                               may_run)
        if holder is None:
            refused = reasons[0] if reasons else (
                f"busy: another run holds the lock ({state.holder}, since {state.started_at} "
                f"UTC, lease until {state.expires_at} UTC)")
            yield Lease(model_name, None, refused, state)
            return
        lease = Lease(model_name, holder, None, state)
        try:
            yield lease
        finally:
            pipeline_state.release(store.engine, model_name, holder, lease.outcome,
                                   lease.retrained)


def last_run_age(settings: Settings, model_name: str) -> timedelta | None:
    """How long ago the model's last retraining run ended (None: never)."""
    with open_store(settings) as store:
        state = pipeline_state.read(store.engine, model_name)
    return None if state.last_run_at is None else pipeline_state.now() - state.last_run_at
