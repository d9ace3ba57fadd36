"""The Airflow DAGs (deploy/airflow/dags) run on SQLite, Airflow in its own venv
(`make airflow`), every task run in this project's environment.

The continuous-training DAG's tasks come in the pipeline's order (begin, its steps, record).
With a champion and no new data the turn ends after check (nothing retrained, recorded), and
Airflow shows every step after check skipped; a forced turn runs the retrain path (snapshot,
retrain, gate: those succeed, shadow and verify are skipped) and records it in MLflow; the
lock is free after each, and the forced turn started the cooldown (a turn refused by it
passes through every task untouched: tests/pipelines/test_turn.py). The data-fill DAG writes
one production batch into the data store.

Airflow starts once: one process parses the DAGs, then runs one DAG run at a time through
``DAG.test()`` (what `airflow dags test` runs) while the test checks the store in between;
it starts, and Airflow's database migrates, while the champion trains.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
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
WAIT_S = 600  # the longest one answer of Airflow's may take

_AIRFLOW_RUNNER = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print("@@shapes", json.dumps({
    dag_id: {t.task_id: {"downstream": sorted(t.downstream_task_ids),
                         "trigger_rule": t.trigger_rule,
                         "skip_on": list(getattr(t, "skip_on_exit_code", []))}
             for t in dag.tasks}
    for dag_id, dag in bag.dags.items()}), flush=True)
for line in sys.stdin:  # one DAG run a line: [dag_id, conf]
    dag_id, conf = json.loads(line)
    print("@@run", json.dumps(bag.get_dag(dag_id).test(run_conf=conf).state), flush=True)
"""


class Airflow:
    """One Airflow process that parsed the DAGs (``shapes``: each DAG's tasks) and runs a DAG
    run whenever asked; ``env``: Airflow's settings and the workspace's (MLWB_HOME)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.output: list[str] = []
        self.shapes: dict[str, Any] = {}  # the fixture reads them once Airflow has parsed
        self._process = subprocess.Popen(
            [str(AIRFLOW.parent / "python"), "-c", _AIRFLOW_RUNNER, str(DAGS)], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def answer(self, tag: str) -> Any:
        """The next line Airflow prints with ``tag``, as JSON (its logs kept in ``output``)."""
        while True:
            try:
                line = self._lines.get(timeout=WAIT_S)
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail(f"Airflow did not answer {tag}:\n{''.join(self.output[-80:])}")
            if line.startswith(f"@@{tag} "):
                return json.loads(line.split(" ", 1)[1])
            self.output.append(line)

    def run(self, dag_id: str, **conf: object) -> dict[str, str]:
        """One run of ``dag_id`` with ``conf``; each task's state."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps([dag_id, conf]) + "\n")
        self._process.stdin.flush()
        self.answer("run")
        return _states(self.env, dag_id)

    def close(self) -> None:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        finally:
            self._process.kill()
            self._reader.join(timeout=10)
            self._process.stdout.close()


@pytest.fixture(scope="module")
def airflow(tmp_path_factory) -> Iterator[Airflow]:
    """Airflow on its own database, around a workspace whose classifier champion is version 1."""
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
        migrate = subprocess.Popen([str(AIRFLOW), "db", "migrate"], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        runner = Airflow(env)  # parses the DAGs meanwhile; runs nothing before asked
        try:
            assert train(CLASSIFIER, settings=settings).champion_version == 1
            out, _ = migrate.communicate(timeout=WAIT_S)
            assert migrate.returncode == 0, f"airflow db migrate:\n{out[-3000:]}"
            runner.shapes = runner.answer("shapes")
        except BaseException:
            runner.close()
            raise
        finally:
            migrate.kill()
    try:
        yield runner
    finally:
        runner.close()


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


def _turn(airflow: Airflow, **conf: object) -> dict[str, str]:
    """One DAG run of the loop on the classifier; each task's state."""
    return airflow.run("mlwb_continuous_training", family="classifier", **conf)


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
    assert _turn(airflow) == {"begin": "success", "check": "success",
                                  **dict.fromkeys(STEPS[2:-1], "skipped"), "record": "success"}
    [nothing] = list_runs(settings, NAME)
    assert (nothing["trigger"], nothing["outcome"]) == ("airflow", "skipped")
    assert list(nothing["steps"]) == ["check"] and nothing["reason"].startswith("nothing to do")
    assert _lock(settings).holder is None and _lock(settings).last_run_at is None

    stump = {"model": "gbm", "max_iter": 1, "max_depth": 1}  # one split: the gate refuses it
    assert _turn(airflow, force=True, overrides=stump) == {  # the retrain path
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

    assert airflow.run("mlwb_data_fill", batch_size=50) == {"production_batch": "success"}
    with Store(settings.resolved_database_url) as store:
        production = [b for b in store.batches("interactions") if b.stage == "production"]
    assert len(production) == 1 and production[0].received == 50
    get_settings.cache_clear()
