"""The Airflow DAGs (deploy/airflow/dags) under `airflow dags test` on SQLite, Airflow in its own
venv (`make airflow`), every task run in this project's environment.

The continuous-training DAG's tasks come in the pipeline's order (begin, its steps, record).
With a champion and no new data the turn ends after check (nothing retrained, recorded); a
forced turn runs the retrain path (snapshot, retrain, gate) and records it in MLflow; the lock
is free after each, and the forced turn started the cooldown (a turn refused by it passes
through every task untouched: tests/pipelines/test_turn.py). The data-fill DAG writes one
production batch into the data store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlworkbench.config import Settings, get_settings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "deploy" / "airflow" / "dags"
AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
STEPS = ["begin", "check", "snapshot", "retrain", "shadow", "gate", "verify", "record"]
NAME = "titanic-classifier"

_DAG_SHAPE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps({dag_id: {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
                  for dag_id, dag in bag.dags.items()}))
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    assert AIRFLOW.exists(), "Airflow is not installed: run `make airflow` (.venv-airflow)"
    home = tmp_path_factory.mktemp("airflow")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MLWB_", "MLFLOW_", "AIRFLOW"))}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "MLWB_AIRFLOW_PROJECT_PYTHON": sys.executable,
            "MLWB_HOME": str(home / "mlwb"), "OPENBLAS_NUM_THREADS": "1"}
    _airflow(env, "db", "migrate")
    return env


def _airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, f"airflow {' '.join(args)}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout


def _states(env: dict[str, str], dag_id: str) -> dict[str, str]:
    """Each task's state in the DAG's newest run."""
    engine = sa.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with engine.connect() as db:
        rows = db.execute(sa.text(
            "SELECT task_id, state FROM task_instance WHERE dag_id = :d AND run_id = "
            "(SELECT run_id FROM dag_run WHERE dag_id = :d ORDER BY id DESC LIMIT 1)"),
            {"d": dag_id}).all()
    engine.dispose()
    return dict(rows)


def _turn(env: dict[str, str], **conf: object) -> dict[str, str]:
    _airflow(env, "dags", "test", "mlwb_continuous_training", "-c",
             json.dumps({"family": "classifier", **conf}))
    states = _states(env, "mlwb_continuous_training")
    assert states == dict.fromkeys(STEPS, "success"), states
    return states


def _settings(env: dict[str, str], monkeypatch) -> Settings:
    monkeypatch.setenv("MLWB_HOME", env["MLWB_HOME"])
    get_settings.cache_clear()
    return get_settings()


def test_the_dags_load_and_their_tasks_come_in_the_pipelines_order(airflow_env) -> None:
    python = str(AIRFLOW.parent / "python")
    shape = json.loads(subprocess.run([python, "-c", _DAG_SHAPE, str(DAGS)], env=airflow_env,
                                      capture_output=True, text=True, check=True,
                                      timeout=300).stdout.strip().splitlines()[-1])
    assert set(shape) == {"mlwb_continuous_training", "mlwb_data_fill"}
    loop = shape["mlwb_continuous_training"]
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        assert loop[before] == [after], (before, loop[before])  # one line, in this order
    assert loop["record"] == []
    assert set(loop) == set(STEPS)
    from mlworkbench.pipelines.continuous import STEPS as PIPELINE_STEPS

    assert STEPS[1:-1] == list(PIPELINE_STEPS)  # every step of a turn, none of its own
    assert shape["mlwb_data_fill"] == {"production_batch": []}


def _lock(settings: Settings):
    from mlworkbench.data import pipeline_state
    from mlworkbench.data.ingest import open_store

    with open_store(settings) as store:
        return pipeline_state.read(store.engine, NAME)


def test_the_loop_turns_under_its_lock_and_records_then_the_data_fill_writes_a_batch(
        airflow_env, monkeypatch) -> None:
    from mlworkbench.data.store import Store
    from mlworkbench.pipelines.records import list_runs
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.train import train

    settings = _settings(airflow_env, monkeypatch)
    assert train(CLASSIFIER, settings=settings).champion_version == 1

    _turn(airflow_env)  # nothing new: the turn ends after check, and is recorded
    [nothing] = list_runs(settings, NAME)
    assert (nothing["trigger"], nothing["outcome"]) == ("airflow", "skipped")
    assert list(nothing["steps"]) == ["check"] and nothing["reason"].startswith("nothing to do")
    assert _lock(settings).holder is None and _lock(settings).last_run_at is None

    stump = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: the gate refuses it
    _turn(airflow_env, force=True, overrides=stump)  # the retrain path
    forced = list_runs(settings, NAME)[0]
    assert forced["outcome"] == "kept" and "does not beat champion" in forced["reason"]
    assert {step: done["outcome"] for step, done in forced["steps"].items()} == {
        "check": "ok", "snapshot": "ok", "retrain": "ok", "gate": "refused"}
    assert forced["version_before"] == forced["version_after"] == "1"
    lock = _lock(settings)
    assert lock.holder is None and lock.last_outcome == "kept" and lock.last_run_at is not None
    assert len(list_runs(settings, NAME)) == 2

    _airflow(airflow_env, "dags", "test", "mlwb_data_fill", "-c", json.dumps({"batch_size": 50}))
    assert _states(airflow_env, "mlwb_data_fill") == {"production_batch": "success"}
    with Store(settings.resolved_database_url) as store:
        production = [b for b in store.batches("interactions") if b.stage == "production"]
    assert len(production) == 1 and production[0].received == 50
    get_settings.cache_clear()
