"""The loop, end to end, for the classifier on the embedded default (SQLite + local
artifacts): a real ``mlwb serve`` process serves the champion while a client keeps asking;
drifted production passengers arrive; the loop detects, retrains, promotes and the service
answers with the new version — no failed request. Then: a second trigger inside the
cooldown runs nothing, a deliberately worse configuration keeps the champion with its
reason, nothing new means no retrain, and a manual rollback is followed by the service."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from mlflow.tracking import MlflowClient

from fixtures.serving import Hammer, serve_process, served_version, wait_for_version
from fixtures.workspaces import module_workspace
from mlworkbench.cli.main import run as cli
from mlworkbench.config import Settings
from mlworkbench.data.ingest import load_titanic, open_store
from mlworkbench.data.simulator import synthetic_passengers
from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy
from mlworkbench.pipelines.records import list_runs
from mlworkbench.tracking import client as tracking
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.train import train

# The classifier's monitoring report divides by an empty count on these windows (a
# RuntimeWarning numpy raises inside it); the loop itself warns nothing.
pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(
    "ignore:invalid value encountered in scalar divide:RuntimeWarning")]
NAME = "titanic-classifier"
PATHS = ["/predict?pclass=1&sex=female&age=30&sibsp=0&parch=0",
         "/predict?pclass=3&sex=male&age=40&sibsp=1&parch=2"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with module_workspace(tmp_path_factory, "loop-classifier") as settings:
        train(CLASSIFIER, settings=settings)  # version 1, the champion, on Titanic
        yield settings


@pytest.fixture(scope="module")
def service(workspace: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(workspace.home), MLWB_ALIAS_POLL_SECONDS="0.5",
               OPENBLAS_NUM_THREADS="1")
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_process(env, f"models:/{NAME}@champion", log) as base:
        yield base


def _policy(service: str, **overrides) -> Policy:
    values = {"min_new_rows": 1000, "cooldown_seconds": 600, "serving_urls": (service,),
              "verify_seconds": 60, **overrides}
    return Policy(**values)


def test_nothing_new_means_no_retrain(workspace, service) -> None:
    result = run_pipeline(workspace, "classifier", trigger="schedule", policy=_policy(service))
    assert result.outcome == "skipped" and list(result.steps) == ["check"]
    assert result.reason.startswith("nothing to do: verdict not run, 0 new rows")
    assert result.version_before == result.version_after == 1
    [recorded] = list_runs(workspace, NAME)
    assert recorded["run_id"] == result.run_id and recorded["outcome"] == "skipped"


def test_drift_is_detected_retrained_promoted_and_served_without_a_failed_request(
        workspace, service) -> None:
    with Hammer(service, PATHS) as client:
        with open_store(workspace) as store:  # the simulator's drifted, labelled passengers
            for index in range(3):
                store.ingest("passengers", synthetic_passengers(load_titanic(), 500, 0.5,
                                                                seed=index),
                             source=f"simulator:titanic#{index}", stage="production")
        result = run_pipeline(workspace, "classifier", trigger="drift",
                              policy=_policy(service, min_new_rows=100_000))
        assert result.outcome == "promoted", result.reason
        wait_for_version(service, 2, 5)
    assert (result.version_before, result.version_after) == (1, 2)
    check = result.steps["check"]["output"]
    assert check["monitoring"]["verdict"] in ("drift", "quality drop")
    assert check["reason"].startswith("monitoring verdict")  # not the row count: 1,500 < 100,000
    assert result.steps["verify"]["output"]["served"] == {service: 2}
    assert client.failed == [] and len(client.outcomes) > 10
    assert client.versions[0] == 1 and client.versions[-1] == 2
    run = MlflowClient().get_run(result.run_id)
    tags = run.data.tags
    assert tags["pipeline.outcome"] == "promoted" and tags["pipeline.trigger"] == "drift"
    assert {tags[f"pipeline.step.{step}"] for step in
            ("check", "snapshot", "retrain", "gate", "verify")} == {"ok"}
    assert {"check_seconds", "retrain_seconds", "verify_seconds", "total_seconds"} <= set(
        run.data.metrics)
    print(f"\nloop (classifier, embedded): {result.seconds:.1f} s = " + ", ".join(
        f"{step} {done['seconds']:.1f} s" for step, done in result.steps.items()))


def test_a_second_trigger_inside_the_cooldown_runs_nothing(workspace, service) -> None:
    before = len(list_runs(workspace, NAME))
    result = run_pipeline(workspace, "classifier", trigger="drift", policy=_policy(service))
    assert result.outcome == "skipped" and result.steps == {} and result.run_id is None
    assert result.reason.startswith("cooldown: the last run (promoted) ended")
    assert len(list_runs(workspace, NAME)) == before
    assert served_version(service) == 2


def test_a_deliberately_worse_configuration_keeps_the_champion(workspace, service) -> None:
    stump = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: sex
    result = run_pipeline(workspace, "classifier", force=True, params=stump,
                          policy=_policy(service))
    assert result.outcome == "kept", result.reason
    assert result.version_after == 2 and "does not beat champion" in result.reason
    refused = result.steps["retrain"]["output"]["version"]
    client = tracking.configure(workspace)
    tags = client.get_model_version(NAME, str(refused)).tags
    assert tags["promotion.decision"] == "rejected" and tags["promotion.reason"] == result.reason
    assert client.get_run(result.run_id).data.tags["pipeline.outcome"] == "kept"
    assert served_version(service) == 2


def test_a_manual_rollback_is_followed_by_the_service(workspace, service, capsys) -> None:
    assert cli(["models", "rollback", NAME]) == 0
    assert "champion 2 -> 1" in capsys.readouterr().out
    wait_for_version(service, 1, 10)
    tags = tracking.configure(workspace).get_model_version(NAME, "2").tags
    assert tags["rollback.to"] == "1" and tags["rollback.reason"] == "rolled back by hand"
    assert cli(["models", "rollback", NAME, "--to", "99"]) == 1
    assert "Error: parameter 'to' of rollback" in capsys.readouterr().err


def test_pipeline_list_shows_every_recorded_run(workspace, capsys) -> None:
    assert cli(["pipeline", "list", "--model", "classifier"]) == 0
    out = capsys.readouterr().out
    assert "promoted" in out and "kept" in out and "skipped" in out


