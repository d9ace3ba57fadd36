"""The Airflow DAGs (deploy/airflow/dags) under `airflow dags test` on SQLite, Airflow in its own
venv (`make airflow`), every task run in this project's environment.

The continuous-training DAG's tasks come in the pipeline's order (begin, its steps, record).
With a champion and no new data the turn ends after check (nothing retrained, recorded), and
Airflow shows every step after check skipped; a forced turn runs the retrain path (snapshot,
retrain, gate: those succeed, shadow and verify are skipped) and records it in MLflow; the
lock is free after each, and the forced turn started the cooldown (a turn refused by it
passes through every task untouched: tests/pipelines/test_turn.py). The data-fill DAG writes
one production batch into the data store. Airflow's database migrates while the champion
trains, and the DAGs are parsed meanwhile (three processes, no shared file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from fixtures.workspaces import module_workspace
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
print(json.dumps({dag_id: {t.task_id: {"downstream": sorted(t.downstream_task_ids),
                                        "trigger_rule": t.trigger_rule,
                                        "skip_on": list(getattr(t, "skip_on_exit_code", []))}
                             for t in dag.tasks}
                  for dag_id, dag in bag.dags.items()}))
"""


@dataclass(frozen=True)
class AirflowHome:
    env: dict[str, str]  # Airflow's (its database migrated) and the workspace's settings
    shapes: dict[str, Any]  # each DAG's tasks as Airflow parsed them


@pytest.fixture(scope="module")
def airflow(tmp_path_factory) -> AirflowHome:
    """Airflow's home around a workspace whose classifier champion is version 1."""
    assert AIRFLOW.exists(), "Airflow is not installed: run `make airflow` (.venv-airflow)"
    from mlworkbench.training.classifier import CLASSIFIER
    from mlworkbench.training.train import train

    home = tmp_path_factory.mktemp("airflow")
    with module_workspace(tmp_path_factory, "airflow-loop") as settings:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("MLWB_", "MLFLOW_", "AIRFLOW"))}
        env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "MLWB_AIRFLOW_PROJECT_PYTHON": sys.executable,
                "MLWB_HOME": str(settings.home), "OPENBLAS_NUM_THREADS": "1"}
        migrate = _start(env, str(AIRFLOW), "db", "migrate")
        parse = _start({**env, "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-parse"))},
                       str(AIRFLOW.parent / "python"), "-c", _DAG_SHAPE, str(DAGS))
        assert train(CLASSIFIER, settings=settings).champion_version == 1
        _wait(migrate, "airflow db migrate")
        shapes = json.loads(_wait(parse, "the DAGs' shape").strip().splitlines()[-1])
    return AirflowHome(env, shapes)


def _start(env: dict[str, str], *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait(process: subprocess.Popen[str], what: str) -> str:
    try:
        out, err = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, f"{what}:\n{out[-3000:]}\n{err[-3000:]}"
    return out


def _airflow(env: dict[str, str], *args: str) -> str:
    return _wait(_start(env, str(AIRFLOW), *args), f"airflow {' '.join(args)}")


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
    """One DAG run of the loop on the classifier; each task's state."""
    _airflow(env, "dags", "test", "mlwb_continuous_training", "-c",
             json.dumps({"family": "classifier", **conf}))
    return _states(env, "mlwb_continuous_training")


def _settings(env: dict[str, str], monkeypatch) -> Settings:
    monkeypatch.setenv("MLWB_HOME", env["MLWB_HOME"])
    get_settings.cache_clear()
    return get_settings()


def test_the_dags_load_and_their_tasks_come_in_the_pipelines_order(airflow) -> None:
    from mlworkbench.pipelines.continuous import STEPS as PIPELINE_STEPS
    from mlworkbench.pipelines.steps import IDLE

    shape = airflow.shapes
    assert set(shape) == {"mlwb_continuous_training", "mlwb_data_fill"}
    loop = shape["mlwb_continuous_training"]
    for before, after in zip(STEPS, STEPS[1:], strict=False):
        assert loop[before]["downstream"] == [after], (before, loop[before])  # one line
    assert loop["record"]["downstream"] == []
    assert set(loop) == set(STEPS)
    assert STEPS[1:-1] == list(PIPELINE_STEPS)  # every step of a turn, none of its own
    assert loop["begin"]["skip_on"] == []
    for name in STEPS[1:]:  # an idle step exits IDLE: skipped; the next one runs after it
        assert loop[name]["skip_on"] == [IDLE], (name, loop[name])
        assert loop[name]["trigger_rule"] == "none_failed", (name, loop[name])
    assert shape["mlwb_data_fill"] == {"production_batch": {
        "downstream": [], "trigger_rule": "all_success", "skip_on": []}}


def _lock(settings: Settings):
    from mlworkbench.data import pipeline_state
    from mlworkbench.data.ingest import open_store

    with open_store(settings) as store:
        return pipeline_state.read(store.engine, NAME)


def test_the_loop_turns_under_its_lock_and_records_then_the_data_fill_writes_a_batch(
        airflow, monkeypatch) -> None:
    from mlworkbench.data.store import Store
    from mlworkbench.pipelines.records import list_runs

    settings = _settings(airflow.env, monkeypatch)  # its champion: version 1

    # nothing new: the turn ends after check, every step after it is skipped, it is recorded
    assert _turn(airflow.env) == {"begin": "success", "check": "success",
                                  **dict.fromkeys(STEPS[2:-1], "skipped"), "record": "success"}
    [nothing] = list_runs(settings, NAME)
    assert (nothing["trigger"], nothing["outcome"]) == ("airflow", "skipped")
    assert list(nothing["steps"]) == ["check"] and nothing["reason"].startswith("nothing to do")
    assert _lock(settings).holder is None and _lock(settings).last_run_at is None

    stump = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: the gate refuses it
    assert _turn(airflow.env, force=True, overrides=stump) == {  # the retrain path
        **dict.fromkeys(["begin", "check", "snapshot", "retrain", "gate", "record"], "success"),
        "shadow": "skipped", "verify": "skipped"}  # no challenger in shadow; nothing promoted
    forced = list_runs(settings, NAME)[0]
    assert forced["outcome"] == "kept" and "does not beat champion" in forced["reason"]
    assert {step: done["outcome"] for step, done in forced["steps"].items()} == {
        "check": "ok", "snapshot": "ok", "retrain": "ok", "gate": "refused"}
    assert forced["version_before"] == forced["version_after"] == "1"
    lock = _lock(settings)
    assert lock.holder is None and lock.last_outcome == "kept" and lock.last_run_at is not None
    assert len(list_runs(settings, NAME)) == 2

    _airflow(airflow.env, "dags", "test", "mlwb_data_fill", "-c", json.dumps({"batch_size": 50}))
    assert _states(airflow.env, "mlwb_data_fill") == {"production_batch": "success"}
    with Store(settings.resolved_database_url) as store:
        production = [b for b in store.batches("interactions") if b.stage == "production"]
    assert len(production) == 1 and production[0].received == 50
    get_settings.cache_clear()
