"""What both mlworkbench DAGs share: the project's Python, which runs every task.

Airflow has a virtual environment of its own (``make airflow``: ``.venv-airflow``); the
tasks run in the project's (``.venv``) through ``@task.external_python``, so each task is
one call of a function of the project, with the project's pinned dependencies. The
project's interpreter is ``MLWB_AIRFLOW_PROJECT_PYTHON`` when set, else the repository's
``.venv/bin/python`` next to these DAGs. The tasks read the project's settings (``MLWB_*``)
from the environment Airflow runs them in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

REPOSITORY = Path(__file__).resolve().parents[3]
PROJECT_PYTHON = os.environ.get("MLWB_AIRFLOW_PROJECT_PYTHON",
                                str(REPOSITORY / ".venv" / "bin" / "python"))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
TAGS = ["mlworkbench"]
