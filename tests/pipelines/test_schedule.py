"""The pipeline on APScheduler: jobs in the data store, a failure logged, the schedule goes on."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from mlworkbench.cli.main import run
from mlworkbench.config import get_settings
from mlworkbench.data.predictions import store_engine
from mlworkbench.data.tables import scheduler_jobs
from mlworkbench.errors import InvalidParameterError
from mlworkbench.pipelines.schedule import Schedule, add_jobs, scheduler


def test_the_schedule_is_kept_in_the_data_store_and_replaced_on_restart(workspace) -> None:
    first = scheduler(workspace)
    add_jobs(first, ["recommender", "classifier"], Schedule(every_s=3600))
    first.start(paused=True)
    first.shutdown()
    with store_engine(workspace.resolved_database_url).connect() as db:
        ids = sorted(db.execute(sa.select(scheduler_jobs.c.id)).scalars())
    assert ids == ["pipeline-classifier", "pipeline-recommender"]

    again = scheduler(workspace)  # a restarted scheduler finds them, and replaces one
    again.start(paused=True)
    try:
        assert {job.id for job in again.get_jobs()} == set(ids)
        add_jobs(again, ["recommender"], Schedule(cron="0 3 * * *"))
        job = again.get_job("pipeline-recommender")
        assert "cron" in str(job.trigger) and job.args == ("recommender",)
        assert job.next_run_time.hour == 3
    finally:
        again.shutdown()


def test_a_failing_run_is_logged_and_the_schedule_goes_on(workspace, monkeypatch,
                                                          caplog) -> None:
    # a tracking store that cannot be opened: every run's first step fails
    monkeypatch.setenv("MLWB_TRACKING_URI", "sqlite:////proc/no-such-dir/mlflow.db")
    monkeypatch.setenv("MLWB_PIPELINE_COOLDOWN_SECONDS", "0")
    get_settings.cache_clear()
    outcomes: list[str] = []
    three = threading.Event()

    def executed(event) -> None:
        outcomes.append("error" if event.exception else event.retval)
        if len(outcomes) >= 3:
            three.set()

    runner = scheduler(get_settings())
    runner.add_listener(executed, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    add_jobs(runner, ["classifier"], Schedule(every_s=1))
    caplog.set_level(logging.INFO, logger="mlworkbench.pipelines.schedule")
    runner.start()
    try:
        assert three.wait(120), outcomes
        assert runner.running and runner.get_job("pipeline-classifier") is not None
    finally:
        runner.shutdown()
    assert outcomes[:2] == ["failed", "failed"] and "error" not in outcomes
    logged = [r for r in caplog.records if r.name == "mlworkbench.pipelines.schedule"]
    assert logged and "scheduled pipeline run of classifier" in logged[0].getMessage()
    assert logged[0].levelno == logging.WARNING or logged[0].exc_info


@pytest.mark.parametrize(("schedule", "name"), [
    (Schedule(), "every/cron"), (Schedule(every_s=1, cron="* * * * *"), "every/cron"),
    (Schedule(every_s=0.2), "every"), (Schedule(cron="every day"), "cron"),
])
def test_a_bad_schedule_names_the_option(schedule, name) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        schedule.trigger()
    assert caught.value.name == name


def test_the_command_refuses_a_bad_schedule_in_one_line(workspace, capsys) -> None:
    assert run(["pipeline", "schedule", "--every", "soon"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("Error: parameter 'every'") and "\n" not in error
    assert not (workspace.home / "data.db").exists()  # checked before the store is opened
    assert run(["pipeline", "schedule", "--every", "1h", "--model", "forest"]) == 1
    assert "forest" in capsys.readouterr().err
