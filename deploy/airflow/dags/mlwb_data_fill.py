"""Data fill as an Airflow DAG: one simulated production batch into the data store per run.

``production_batch`` is one call of ``mlworkbench.data.fill.fill`` (what ``mlwb data fill``
runs) in the project's environment; the DAG holds no logic of its own.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task
from mlwb_common import PROJECT_PYTHON, START, TAGS


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
