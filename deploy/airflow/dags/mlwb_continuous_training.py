"""Continuous training as an Airflow DAG: one pipeline turn, one task per step.

begin -> check -> snapshot -> retrain -> shadow -> gate -> verify -> record. ``begin`` takes
the model's lock (or is refused by it, the cooldown or the retry budget) as
``mlworkbench.pipelines.turn.begin`` does for ``mlwb pipeline run``; every step task is
one ``advance`` of the turn's JSON state, as the last task that ran left it; a step the turn
does not need (nothing to do, a refused gate, no challenger in shadow) ends ``skipped``
(``mlworkbench.pipelines.steps.due`` says which), and the steps after it still run
(trigger rule ``none_failed``); ``record`` is ``finish``: the MLflow run in experiment
``continuous-training``, then the lock freed (skipped too when ``begin`` was refused: nothing
to record). The lock is taken detached (the tasks are separate processes): each step renews
its lease while it works, and a run that dies half-way frees it when the lease
(MLWB_PIPELINE_LEASE_SECONDS) ends. The DAG holds no logic of its own. Each task is a new
process of the project's Python: it imports ``mlworkbench.pipelines.turn``, which imports a
step's module only when that step runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, chain, dag, task

# Airflow has a virtual environment of its own (``make airflow``: .venv-airflow); every task
# runs in the project's (.venv) through @task.external_python, with the project's pinned
# dependencies and its settings (MLWB_*) from the environment Airflow runs it in. The
# project's interpreter: MLWB_AIRFLOW_PROJECT_PYTHON, else the repository's .venv/bin/python.
PROJECT_PYTHON = os.environ.get(
    "MLWB_AIRFLOW_PROJECT_PYTHON",
    str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "python"))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
TAGS = ["mlworkbench"]
# mlworkbench.pipelines.steps.STEPS and .IDLE (this file is read where mlworkbench is not
# installed): the steps in order, and the exit status of a task with nothing to do (skipped)
STEPS = ("check", "snapshot", "retrain", "shadow", "gate", "verify")
IDLE = 99
# a step runs after a skipped one (an idle step passes no state on: the next one takes the
# newest state an earlier task left), never after a failed one
AFTER_IDLE = {"skip_on_exit_code": IDLE, "trigger_rule": "none_failed"}


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def begin(family: str, force: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.turn import begin

    return begin(get_settings(), family, trigger="airflow", force=force,
                 params=overrides or None, detached=True).to_dict()


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False, **AFTER_IDLE)
def step(turns: list[dict[str, Any] | None], name: str) -> dict[str, Any]:
    import sys

    from mlworkbench.pipelines.steps import IDLE, due, latest

    turn = dict(latest(turns))
    if not due(turn, name):  # the turn's own answer: not its next step, so skipped
        sys.exit(IDLE)
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.turn import PipelineResult, advance

    return advance(get_settings(), PipelineResult.from_dict(turn), name).to_dict()


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False, **AFTER_IDLE)
def record(turns: list[dict[str, Any] | None]) -> dict[str, Any]:
    import sys

    from mlworkbench.pipelines.steps import IDLE, due, latest

    turn = dict(latest(turns))
    if not due(turn):  # refused at begin: nothing to record, no lock to free
        sys.exit(IDLE)
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.turn import PipelineResult, finish

    return finish(get_settings(), PipelineResult.from_dict(turn)).to_dict()


def _states_so_far(task_ids: list[str]) -> str:
    """The turn's states the tasks ``task_ids`` left, oldest first (None for a skipped one)."""
    return "{{ ti.xcom_pull(task_ids=" + repr(task_ids) + ") }}"


@dag(dag_id="mlwb_continuous_training", schedule="@daily", start_date=START, catchup=False,
     max_active_runs=1, tags=TAGS, render_template_as_native_obj=True,
     params={"family": Param("recommender", enum=["recommender", "classifier"]),
             "force": Param(False, type="boolean"),
             # hyperparameters overriding the champion's, e.g. {"model": "gbm", "max_iter": 50}
             "overrides": Param({}, type="object")})
def continuous_training() -> None:
    tasks = [begin("{{ params.family }}", "{{ params.force }}", "{{ params.overrides }}")]
    done = ["begin"]
    for name in STEPS:
        tasks.append(step.override(task_id=name)(_states_so_far(done), name))
        done.append(name)
    tasks.append(record(_states_so_far(done)))
    chain(*tasks)


continuous_training()
