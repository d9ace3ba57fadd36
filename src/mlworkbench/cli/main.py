"""The ``mlwb`` command: groups are wired here; each lives in its own module.

Errors end here: an :class:`MlwbError` or a usage error prints one line
``Error: ...`` on stderr and exits non-zero; no traceback reaches the user.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: implicit wants 1
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow resets its level on import

import logging  # noqa: E402
import sys  # noqa: E402

import typer  # noqa: E402
from typer import exceptions as typer_errors  # noqa: E402

from mlworkbench.cli import data as data_cli  # noqa: E402
from mlworkbench.cli import models, monitor, pipeline, recommend, train, tune  # noqa: E402
from mlworkbench.cli import serve as serve_cli  # noqa: E402
from mlworkbench.cli import simulate as simulate_cli  # noqa: E402
from mlworkbench.cli import stack as stack_cli  # noqa: E402
from mlworkbench.errors import MlwbError  # noqa: E402

app = typer.Typer(
    name="mlwb",
    help="mlworkbench: train, track, register and serve models on a local MLOps stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(train.app, name="train")
app.add_typer(models.app, name="models")
app.add_typer(tune.app, name="tune")
app.add_typer(monitor.app, name="monitor")
app.add_typer(pipeline.app, name="pipeline")
app.command("recommend")(recommend.recommend)
app.command("serve")(serve_cli.serve)
app.command("recommend-all")(serve_cli.recommend_all)
app.add_typer(data_cli.app, name="data")
data_cli.app.command("profile")(monitor.profile)
app.command("simulate")(simulate_cli.simulate)
app.add_typer(simulate_cli.simulator_app, name="simulator")
for _name in ("up", "down", "status", "logs"):
    app.command(_name)(getattr(stack_cli, _name))

EXIT_ERROR = 1


def _fail(message: str, code: int) -> int:
    first_line = " ".join(message.strip().split("\n")[0].split())
    print(f"Error: {first_line}", file=sys.stderr)
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (tests use this)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        result = app(args=argv, prog_name="mlwb", standalone_mode=False)
    except MlwbError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except typer.Abort:
        return _fail("aborted", 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except typer_errors.TyperException as exc:  # click's usage errors, as vendored by typer
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
            return 0
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        return _fail(exc.format_message() + hint, getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run())
