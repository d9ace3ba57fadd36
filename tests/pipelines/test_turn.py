"""A pipeline turn that crashes is still recorded, and a long one keeps its lock.

On the classifier (it trains in seconds), embedded default: a step that raises ends the turn
``failed`` at that step with the error, recorded in MLflow, the lock freed and the failure
counted; an interruption (SystemExit from a supervisor) is recorded the same way before it
goes on; a turn longer than its lock's lease keeps the lock against a second run, because it
renews the lease while it works. The turn as JSON moves forward one step per call, as the
Airflow tasks drive it.
"""

from __future__ import annotations

import json
import time

import pytest

from mlworkbench.config import Settings
from mlworkbench.data import pipeline_state
from mlworkbench.data.ingest import open_store
from mlworkbench.pipelines.continuous import (
    STEPS,
    PipelineResult,
    advance,
    begin,
    finish,
    run_pipeline,
)
from mlworkbench.pipelines.policy import Policy
from mlworkbench.tracking import client as tracking

NAME = "titanic-classifier"
STUMP = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: the gate refuses it


@pytest.fixture(scope="module")
def workspace(classifier_workspace: Settings) -> Settings:
    return classifier_workspace


def _state(settings: Settings) -> pipeline_state.State:
    with open_store(settings) as store:
        return pipeline_state.read(store.engine, NAME)


def test_a_step_that_raises_fails_the_turn_there_and_is_recorded(workspace) -> None:
    result = run_pipeline(workspace, "classifier", force=True, params={"C": -1.0},
                          policy=Policy(cooldown_seconds=0))
    assert (result.outcome, result.failed_step) == ("failed", "retrain")
    assert result.reason.startswith("failed at step retrain: InvalidParameterError: "
                                    "parameter 'C' of")
    assert result.steps["retrain"]["outcome"] == "failed"
    assert result.steps["retrain"]["output"]["error"].startswith("InvalidParameterError")
    tags = tracking.configure(workspace).get_run(result.run_id).data.tags
    assert tags["pipeline.outcome"] == "failed" and tags["pipeline.failed_step"] == "retrain"
    assert tags["pipeline.reason"] == result.reason
    state = _state(workspace)
    assert state.holder is None and state.last_outcome == "failed" and state.failures == 1


def test_an_interrupted_turn_is_recorded_before_the_interruption_goes_on(workspace) -> None:
    def stop(step: str, _output: dict) -> None:
        if step == "check":
            raise SystemExit("stopped by the supervisor")

    with pytest.raises(SystemExit):
        run_pipeline(workspace, "classifier", force=True, progress=stop,
                     policy=Policy(cooldown_seconds=0))
    state = _state(workspace)
    assert state.holder is None and state.last_outcome == "failed" and state.failures == 2
    run = tracking.configure(workspace).search_runs(
        [tracking.configure(workspace).get_experiment_by_name(
            "continuous-training").experiment_id], order_by=["attributes.start_time DESC"],
        max_results=1)[0]
    assert run.data.tags["pipeline.failed_step"] == "check"
    assert run.data.tags["pipeline.reason"] == ("failed at step check: SystemExit: stopped by "
                                                "the supervisor")


def test_a_turn_longer_than_its_lease_keeps_the_lock(workspace) -> None:
    policy = Policy(cooldown_seconds=0, lease_seconds=1.0)
    second: list[PipelineResult] = []

    def slow(step: str, _output: dict) -> None:
        if step == "check":
            time.sleep(2.5)  # 2.5 leases: without renewal the lock would be free by now
            second.append(run_pipeline(workspace, "classifier", policy=policy))

    first = run_pipeline(workspace, "classifier", progress=slow, policy=policy)
    assert first.outcome == "skipped" and first.reason.startswith("nothing to do")
    [refused] = second
    assert refused.outcome == "skipped" and refused.reason.startswith(
        "busy: another run holds the lock")
    assert refused.run_id is None and first.run_id is not None
    assert _state(workspace).holder is None


def test_a_turn_moves_one_step_per_call_as_json(workspace) -> None:
    """What the Airflow tasks do: begin, one advance per step (the state through JSON), finish;
    the lock is held detached in between (no process named), and released at the end."""
    turn = begin(workspace, "classifier", trigger="airflow", force=True, params=STUMP,
                 policy=Policy(cooldown_seconds=0), detached=True)
    assert turn.next_step == "check" and _state(workspace).pid is None
    assert _state(workspace).holder == turn.holder
    state = turn.to_dict()
    for step in STEPS:
        state = json.loads(json.dumps(advance(workspace, PipelineResult.from_dict(state),
                                              step).to_dict()))
    assert list(state["steps"]) == ["check", "snapshot", "retrain", "gate"]
    assert state["outcome"] == "kept" and state["next_step"] is None
    done = finish(workspace, PipelineResult.from_dict(state))
    assert done.run_id is not None and _state(workspace).holder is None
    assert _state(workspace).last_outcome == "kept" and _state(workspace).failures == 0


def test_a_turn_refused_by_the_cooldown_passes_every_step_untouched(workspace) -> None:
    """The cooldown the JSON turn above started refuses the next one at begin; its steps and
    its finish then do nothing, and nothing is recorded (as the DAG's tasks pass it on)."""
    runs = len(tracking.configure(workspace).search_runs([tracking.configure(
        workspace).get_experiment_by_name("continuous-training").experiment_id]))
    turn = begin(workspace, "classifier", trigger="airflow", policy=Policy(), detached=True)
    assert turn.holder is None and turn.outcome == "skipped"
    assert turn.reason.startswith("cooldown: the last run (kept) ended")
    state = turn.to_dict()
    for step in STEPS:
        assert advance(workspace, PipelineResult.from_dict(state), step).to_dict() == state
    assert finish(workspace, PipelineResult.from_dict(state)).run_id is None
    assert len(tracking.configure(workspace).search_runs([tracking.configure(
        workspace).get_experiment_by_name("continuous-training").experiment_id])) == runs
