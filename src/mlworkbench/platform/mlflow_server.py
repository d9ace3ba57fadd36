"""``python -m mlworkbench.platform.mlflow_server ARGS``: ``mlflow server ARGS`` as ONE process.

``mlflow server`` prepares its environment and then runs uvicorn as a child it waits on.
Under a supervisor that is one process too many: when the child dies the parent lives on and
serves nothing, and when the parent is killed the orphan keeps the port, so the restart fails.
Here MLflow's launcher ``exec``s uvicorn in place instead, so the supervisor watches (and
restarts) the process that really serves. Everything else is MLflow's own ``server`` command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any


def _exec_in_place(cmd: Sequence[str], extra_env: dict[str, str] | None = None, **_: Any) -> None:
    os.execvpe(cmd[0], list(cmd), {**os.environ, **(extra_env or {})})


def main(argv: list[str] | None = None) -> None:
    import mlflow.server
    from mlflow.cli import cli

    mlflow.server._exec_cmd = _exec_in_place  # type: ignore[attr-defined]
    cli.main(args=["server", *(sys.argv[1:] if argv is None else argv)], prog_name="mlflow")


if __name__ == "__main__":
    main()
