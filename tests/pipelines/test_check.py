"""The check step on the classifier (embedded): the schedule trigger, and new batches counted
from the store's batch list."""

from __future__ import annotations

import time

import pytest

from mlworkbench.data.ingest import load_titanic, open_store
from mlworkbench.pipelines.check import check
from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy

QUIET = {"min_new_rows": 10**6, "cooldown_seconds": 0}  # only the schedule can say retrain
STUMP = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: the gate refuses it


def test_the_schedule_triggers_a_retrain_once_the_last_one_is_old_enough(
        classifier_workspace) -> None:
    settings = classifier_workspace
    first = run_pipeline(settings, "classifier", trigger="schedule", params=STUMP,
                         policy=Policy(every_seconds=1.0, **QUIET))
    assert first.steps["check"]["output"]["schedule_due"] is True  # never retrained yet
    assert first.steps["check"]["output"]["reason"] == "schedule: retrain every 1 s"
    assert first.outcome == "kept" and "retrain" in first.steps
    hourly = run_pipeline(settings, "classifier", trigger="schedule",
                          policy=Policy(every_seconds=3600.0, **QUIET))
    assert hourly.outcome == "skipped" and hourly.reason.endswith("schedule not due")
    time.sleep(1.1)
    again = run_pipeline(settings, "classifier", trigger="schedule", params=STUMP,
                         policy=Policy(every_seconds=1.0, **QUIET))
    assert again.steps["check"]["output"]["schedule_due"] is True
    assert again.outcome == "kept"


# the classifier's monitoring report divides by an empty count on a small window (numpy warns)
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide:RuntimeWarning")
def test_new_batches_and_rows_come_from_the_batch_list(classifier_workspace) -> None:
    settings = classifier_workspace
    passengers = load_titanic().head(40)
    with open_store(settings) as store:
        batch = store.ingest("passengers", passengers, source="test:new-passengers",
                             stage="production", force=True)
        testing = store.ingest("passengers", passengers.head(10), source="test:held-out",
                               stage="testing", force=True)
    checked = check(settings, "classifier", policy=Policy(min_new_rows=batch.accepted))
    assert checked["new_batches"] == checked["new_production_batches"] == [batch.id]
    assert testing.id not in checked["new_batches"]  # not part of the latest validated data
    assert checked["new_rows"] == batch.accepted
    assert checked["retrain"] and f"{batch.accepted} new rows in 1 batches" in checked["reason"]
