"""One pipeline run per model: the lock row survives a crashed holder, the cooldown and the
retry budget refuse early triggers, ``force`` skips both but never the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mlworkbench.config import Settings
from mlworkbench.data import pipeline_state
from mlworkbench.data import tables as t
from mlworkbench.data.engine import writing
from mlworkbench.pipelines.lock import held
from mlworkbench.pipelines.policy import Policy

NAME = "some-model"


@pytest.fixture
def settings(store_url: str, tmp_path) -> Settings:
    return Settings(home=tmp_path / "mlwb", database_url=store_url)


def _take(settings: Settings, policy: Policy = Policy(), force: bool = False):
    """(holder, refused) of one acquisition, released at once with outcome ``kept``."""
    with held(settings, NAME, policy, force) as lease:
        lease.outcome, lease.retrained = "kept", True
        return lease.holder, lease.refused


def test_a_held_lock_refuses_a_second_run_and_frees_on_release(settings, store) -> None:
    with held(settings, NAME, Policy(), False) as first:
        assert first.holder is not None
        with held(settings, NAME, Policy(), True) as second:  # force does not skip the lock
            assert second.holder is None
            assert second.refused.startswith("busy: another run holds the lock")
    state = pipeline_state.read(store.engine, NAME)
    assert state.holder is None and state.last_outcome == "failed" and state.failures == 1


def test_a_killed_holder_process_does_not_keep_the_lock(settings, store) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from mlworkbench.config import Settings
        from mlworkbench.pipelines.lock import held
        from mlworkbench.pipelines.policy import Policy
        settings = Settings(home={str(settings.home)!r}, database_url={settings.database_url!r})
        with held(settings, {NAME!r}, Policy(lease_seconds=3600), False) as lease:
            print("held" if lease.holder else "refused", flush=True)
            time.sleep(600)
    """)
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with held(settings, NAME, Policy(), False) as lease:  # the holder lives: busy
            assert lease.holder is None and "busy" in lease.refused
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert pipeline_state.read(store.engine, NAME).pid == holder.pid  # the row still says so
    with held(settings, NAME, Policy(), False) as lease:
        assert lease.holder is not None and lease.refused is None


def test_a_holder_on_another_host_is_waited_for_until_its_lease_expires(settings,
                                                                       store) -> None:
    row = {"model_name": NAME, "holder": "elsewhere:1:x", "host": "elsewhere", "pid": 1,
           "started_at": pipeline_state.now(), "failures": 0,
           "expires_at": pipeline_state.now() + timedelta(seconds=1)}
    with writing(store.engine) as connection:
        connection.execute(t.pipeline_state.insert().values(**row))
    assert _take(settings)[0] is None
    time.sleep(1.2)
    assert _take(settings)[0] is not None


def test_the_cooldown_refuses_a_second_trigger_and_force_skips_it(settings, store) -> None:
    policy = Policy(cooldown_seconds=600)
    assert _take(settings, policy)[0] is not None
    holder, refused = _take(settings, policy)
    assert holder is None and refused.startswith("cooldown: the last run (kept) ended")
    assert _take(settings, policy, force=True)[0] is not None
    assert _take(settings, Policy(cooldown_seconds=0))[0] is not None


def test_failures_in_a_row_pause_the_pipeline_and_a_success_resets_them(settings,
                                                                       store) -> None:
    policy = Policy(cooldown_seconds=0, max_failures=2, failure_pause_seconds=600)
    for _ in range(2):
        with held(settings, NAME, policy, False) as lease:
            assert lease.holder is not None
            lease.retrained = True  # outcome stays "failed"
    holder, refused = _take(settings, policy)
    assert holder is None and refused.startswith("paused: 2 failed runs in a row")
    assert _take(settings, policy, force=True)[0] is not None  # kept: the count resets
    assert pipeline_state.read(store.engine, NAME).failures == 0
    assert _take(settings, policy)[0] is not None


def test_the_lock_table_comes_from_migration_4(store) -> None:
    with store.engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version FROM store_version")).scalars()
        assert 4 in set(versions)
    assert sa.inspect(store.engine).has_table("pipeline_state")


def test_only_the_holder_renews_its_lease(settings, store) -> None:
    holder, _ = pipeline_state.acquire(store.engine, NAME, 1.0, lambda state: None)
    assert holder is not None
    before = pipeline_state.read(store.engine, NAME).expires_at
    assert pipeline_state.renew(store.engine, NAME, holder, 600)
    assert pipeline_state.read(store.engine, NAME).expires_at - before > timedelta(seconds=500)
    assert not pipeline_state.renew(store.engine, NAME, "someone-else", 600)
    pipeline_state.release(store.engine, NAME, holder, "kept", False)
    assert not pipeline_state.renew(store.engine, NAME, holder, 600)  # released: gone
