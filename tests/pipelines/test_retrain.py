"""The retrain step over a grid (``mlwb pipeline run --grid``), on the classifier (embedded):
one trial per value under one parent run, the best registered as ``challenger`` and gated."""

from __future__ import annotations

from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy
from mlworkbench.tracking import client as tracking

NAME = "titanic-classifier"


def test_a_grid_tunes_instead_of_retraining_and_the_best_is_gated(classifier_workspace
                                                                   ) -> None:
    settings = classifier_workspace
    result = run_pipeline(settings, "classifier", force=True, grid={"C": [0.05, 5.0]},
                          policy=Policy(cooldown_seconds=0))
    assert result.outcome in ("promoted", "kept"), result.reason
    trained = result.steps["retrain"]["output"]
    assert trained["tuned"] is True and trained["version"] == 2
    client = tracking.configure(settings)
    parent = client.get_run(trained["run_id"])
    trials = client.search_runs([parent.info.experiment_id],
                                f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(float(run.data.params["C"]) for run in trials) == [0.05, 5.0]
    decided = result.steps["gate"]["output"]
    assert decided["challenger"] == 2 and decided["champion"] == 1
    tags = client.get_model_version(NAME, "2").tags
    assert tags["promotion.decision"] == ("promoted" if result.outcome == "promoted"
                                          else "rejected")
