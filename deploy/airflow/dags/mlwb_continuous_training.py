"""Continuous training as an Airflow DAG: the pipeline's steps, one task each.

check -> retrain_needed -> snapshot -> retrain -> gate -> verify. Every task but
``retrain_needed`` is one call of a step of ``mlworkbench.pipelines.continuous`` in the
project's environment, passing the step's JSON output to the next; ``retrain_needed`` only
reads the check's own answer (``retrain``) and skips the rest when nothing drifted and no
new data arrived. The DAG holds no logic of its own.
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

TRIGGER = "airflow"


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def check(family: str, force: bool) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import check

    return check(get_settings(), family, trigger="airflow", force=force)


@task.short_circuit
def retrain_needed(checked: dict[str, Any]) -> bool:
    return bool(checked["retrain"])


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def snapshot(family: str, checked: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import snapshot

    return snapshot(get_settings(), family, checked)


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def retrain(family: str, snapped: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import retrain

    return retrain(get_settings(), family, snapped)


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def gate(family: str, trained: dict[str, Any], snapped: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import gate
    from mlworkbench.pipelines.policy import Policy

    settings = get_settings()
    policy = Policy.from_settings(settings)
    return gate(settings, family, trained, snapped, min_gain=policy.min_gain,
                tolerance=policy.tolerance)


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def verify(family: str, decided: dict[str, Any]) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.continuous import verify
    from mlworkbench.pipelines.policy import Policy

    settings = get_settings()
    policy = Policy.from_settings(settings)
    return verify(settings, family, decided, urls=list(policy.serving_urls),
                  timeout_s=policy.verify_seconds)


@dag(dag_id="mlwb_continuous_training", schedule="@daily", start_date=START, catchup=False,
     max_active_runs=1, tags=TAGS, render_template_as_native_obj=True,
     params={"family": Param("recommender", enum=["recommender", "classifier"]),
             "force": Param(False, type="boolean")})
def continuous_training() -> None:
    family, force = "{{ params.family }}", "{{ params.force }}"
    checked = check(family, force)
    snapped = snapshot(family, checked)
    retrain_needed(checked) >> snapped
    trained = retrain(family, snapped)
    decided = gate(family, trained, snapped)
    verify(family, decided)


continuous_training()
