"""Data fill as an Airflow DAG: one simulated production batch into the data store per run.

``production_batch`` is one call of ``mlworkbench.data.fill.fill`` (what ``mlwb data fill``
runs) in the project's environment; the DAG holds no logic of its own.
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


@task.external_python(python=PROJECT_PYTHON, expect_airflow=False)
def production_batch(batch_size: int) -> dict[str, Any]:
    from mlworkbench.config import get_settings
    from mlworkbench.data.fill import fill
    from mlworkbench.data.ingest import open_store

    written: list[dict[str, Any]] = []
    with open_store(get_settings()) as store:
        fill(store, every_s=0, batches=1, batch_size=batch_size,
             on_batch=lambda batch: written.append(
                 {"id": batch.id, "accepted": batch.accepted, "rejected": batch.rejected}))
    return written[0]


@dag(dag_id="mlwb_data_fill", schedule="@hourly", start_date=START, catchup=False,
     max_active_runs=1, tags=TAGS, render_template_as_native_obj=True,
     params={"batch_size": Param(1000, type="integer", minimum=1)})
def data_fill() -> None:
    production_batch("{{ params.batch_size }}")


data_fill()
