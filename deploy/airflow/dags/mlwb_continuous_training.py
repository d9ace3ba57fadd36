"""Continuous training as an Airflow DAG: one pipeline turn, one task per step.

begin -> check -> snapshot -> retrain -> shadow -> gate -> verify -> record. ``begin`` takes
the model's lock (or is refused by it, the cooldown or the retry budget) as
``mlworkbench.pipelines.continuous.begin`` does for ``mlwb pipeline run``; every step task is
one ``advance`` of the turn's JSON state (a step that is not the turn's next one leaves it as
it is: nothing to do, a refused gate, a challenger left in shadow); ``record`` is ``finish``:
the MLflow run in experiment ``continuous-training``, then the lock freed. The lock is taken
detached (the tasks are separate processes): each step renews its lease while it works, and a
run that dies half-way frees it when the lease (MLWB_PIPELINE_LEASE_SECONDS) ends. The DAG
holds no logic of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task

# Airflow has a virtual environment of its own (``make airflow``: .venv-airflow); every task
# runs in the project's (.venv) through @task.external_python, with the project's pinned
# dependencies and its settings (MLWB_*) from the environment Airflow runs it in. The
# project's interpreter: MLWB_AIRFLOW_PROJECT_PYTHON, else the repository's .venv/bin/python.
PROJECT_PYTHON = os.environ.get(
    "MLWB_AIRFLOW_PROJECT_PYTHON",
    str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "python"))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
TAGS = ["mlworkbench"]
# mlworkbench.pipelines.steps.STEPS (this file is read where mlworkbench is not installed)
STEPS = ("check", "snapshot", "retrain", "shadow", "gate", "verify")


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def begin(family: str, force: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import begin

    return begin(get_settings(), family, trigger="airflow", force=force,
                 params=overrides or None, detached=True).to_dict()


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def step(turn: dict[str, Any], name: str) -> dict[str, Any]:
    from mlworkbench.pipelines.steps import due

    if not due(turn, name):  # the turn's own answer: not its next step, passed on as it is
        return turn
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import PipelineResult, advance

    return advance(get_settings(), PipelineResult.from_dict(turn), name).to_dict()


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def record(turn: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.pipelines.steps import due

    if not due(turn):  # refused at begin: nothing to record, no lock to free
        return turn
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import PipelineResult, finish

    return finish(get_settings(), PipelineResult.from_dict(turn)).to_dict()


@dag(dag_id="mlwb_continuous_training", schedule="@daily", start_date=START, catchup=False,
     max_active_runs=1, tags=TAGS, render_template_as_native_obj=True,
     params={"family": Param("recommender", enum=["recommender", "classifier"]),
             "force": Param(False, type="boolean"),
             # hyperparameters overriding the champion's, e.g. {"model": "gbm", "max_iter": 50}
             "overrides": Param({}, type="object")})
def continuous_training() -> None:
    turn = begin("{{ params.family }}", "{{ params.force }}", "{{ params.overrides }}")
    for name in STEPS:
        turn = step.override(task_id=name)(turn, name)
    record(turn)


continuous_training()
