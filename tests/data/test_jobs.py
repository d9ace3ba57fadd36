"""The jobs table on both stores: one active job per model, the lifecycle, a killed runner."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from mlworkbench.data.jobs import JobConflictError, JobStore
from mlworkbench.data.tables import SCHEDULER_TABLE


def test_a_job_goes_queued_running_succeeded_with_its_progress_and_runs(store_url) -> None:
    jobs = JobStore(store_url)
    job = jobs.submit("train", "m", "recommender", {"model": "als"})
    assert (job.state, job.params, job.run_ids, job.started_at) == ("queued", {"model": "als"},
                                                                   [], None)
    jobs.start(job.id)
    jobs.progress(job.id, "fit", 3, 15)
    running = jobs.get(job.id)
    assert running.state == "running" and running.started_at is not None
    assert running.progress == {"stage": "fit", "done": 3, "total": 15}
    jobs.succeed(job.id, {"version": 2}, ["abc"])
    done = jobs.get(job.id)
    assert (done.state, done.result, done.run_ids) == ("succeeded", {"version": 2}, ["abc"])
    assert done.finished_at >= done.started_at >= done.created_at
    assert done.as_dict()["created_at"].endswith("Z")


def test_a_second_active_job_for_a_model_is_refused_and_others_are_not(store_url) -> None:
    jobs = JobStore(store_url)
    first = jobs.submit("train", "m", "recommender", {})
    with pytest.raises(JobConflictError, match=f"already has job {first.id}") as caught:
        jobs.submit("tune", "m", "recommender", {})
    assert caught.value.job_id == first.id
    other = jobs.submit("train", "n", "classifier", {})  # another model: runs beside it
    jobs.fail(first.id, "boom")
    again = jobs.submit("train", "m", "recommender", {})  # the model is free again
    assert [j.id for j in jobs.list()] == [again.id, other.id, first.id]
    assert [j.id for j in jobs.list(model_name="m", state="failed")] == [first.id]
    assert jobs.counts() == {("train", "queued"): 2, ("train", "failed"): 1}


def test_concurrent_submissions_for_one_model_start_exactly_one(store_url) -> None:
    jobs = JobStore(store_url)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            jobs.submit("train", "m", "recommender", {})
            outcomes.append("queued")
        except JobConflictError:
            outcomes.append("refused")

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["queued"] + ["refused"] * 5


def test_jobs_left_active_by_a_killed_runner_are_failed_with_the_reason(store_url) -> None:
    jobs = JobStore(store_url)
    queued = jobs.submit("train", "a", "recommender", {})
    running = jobs.submit("tune", "b", "classifier", {})
    jobs.start(running.id)
    finished = jobs.submit("promote", "c", "classifier", {})
    jobs.succeed(finished.id, {}, [])
    assert sorted(jobs.fail_unfinished("stopped")) == [queued.id, running.id]
    for job_id in (queued.id, running.id):
        job = jobs.get(job_id)
        assert (job.state, job.error) == ("failed", "stopped") and job.finished_at is not None
    assert jobs.get(finished.id).state == "succeeded"
    assert jobs.get(10_000) is None


def test_the_scheduler_table_comes_from_the_migrations(store_url) -> None:
    jobs = JobStore(store_url)
    columns = {c["name"] for c in sa.inspect(jobs.engine).get_columns(SCHEDULER_TABLE)}
    assert columns == {"id", "next_run_time", "job_state"}
