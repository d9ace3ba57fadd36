"""Who may run the pipeline now: one run per model (the store's lock row), a cooldown after
a run that retrained, a pause after too many failures in a row. ``force`` skips the cooldown
and the pause, never the lock. A holder renews its lease while it works."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from mlworkbench.config import Settings
from mlworkbench.data import pipeline_state
from mlworkbench.data.ingest import open_store
from mlworkbench.data.store import Store
from mlworkbench.errors import MlwbError
from mlworkbench.pipelines.policy import Policy

logger = logging.getLogger(__name__)


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


def take(settings: Settings, model_name: str, policy: Policy, force: bool,
         detached: bool = False) -> Lease:
    """The model's lock for one run, or why not (``refused``); give it back with
    :func:`give_back`. ``detached``: the run spans processes, only the lease frees it."""
    reasons: list[str] = []

    def may_run(state: pipeline_state.State) -> str | None:
        reason = refusal(state, policy, force)
        if reason:
            reasons.append(reason)
        return reason

    with open_store(settings) as store:
        holder, state = pipeline_state.acquire(store.engine, model_name, policy.lease_seconds,
                                               may_run, detached)
    if holder is None:
        refused = reasons[0] if reasons else (
            f"busy: another run holds the lock ({state.holder}, since {state.started_at} "
            f"UTC, lease until {state.expires_at} UTC)")
        return Lease(model_name, None, refused, state)
    return Lease(model_name, holder, None, state)


def give_back(settings: Settings, model_name: str, holder: str, outcome: str,
              retrained: bool) -> None:
    """Free a lock :func:`take` gave, recording the run's outcome (a run that retrained
    starts the cooldown; failures in a row count against the retry budget)."""
    with open_store(settings) as store:
        pipeline_state.release(store.engine, model_name, holder, outcome, retrained)


@contextmanager
def held(settings: Settings, model_name: str, policy: Policy, force: bool) -> Iterator[Lease]:
    """The model's lock for one run; released (with the run's outcome) on the way out, and
    its lease renewed meanwhile."""
    lease = take(settings, model_name, policy, force)
    if lease.holder is None:
        yield lease
        return
    try:
        with renewing(settings, model_name, lease.holder, policy.lease_seconds):
            yield lease
    finally:
        give_back(settings, model_name, lease.holder, lease.outcome, lease.retrained)


@contextmanager
def renewing(settings: Settings, model_name: str, holder: str | None,
             lease_seconds: float) -> Iterator[None]:
    """While the body runs, a thread pushes ``holder``'s lease forward every third of it,
    so a run longer than its lease keeps the lock (a crashed one stops renewing)."""
    if holder is None:
        yield
        return
    stop = threading.Event()

    def renew(store: Store) -> None:
        while not stop.wait(lease_seconds / 3):
            try:
                if not pipeline_state.renew(store.engine, model_name, holder, lease_seconds):
                    logger.warning("the pipeline lock of %s was taken over", model_name)
                    return
            except MlwbError as exc:  # the store is away for a moment: try again next time
                logger.warning("could not renew the pipeline lock of %s: %s", model_name, exc)

    with open_store(settings) as store:
        thread = threading.Thread(target=renew, args=(store,), name=f"lease-{model_name}",
                                  daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def last_run_age(settings: Settings, model_name: str) -> timedelta | None:
    """How long ago the model's last retraining run ended (None: never)."""
    with open_store(settings) as store:
        state = pipeline_state.read(store.engine, model_name)
    return None if state.last_run_at is None else pipeline_state.now() - state.last_run_at
