"""``mlwb up / down / status / logs``: the local stack (PostgreSQL, S3, MLflow server, APIs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlworkbench.cli.output import console, table

if TYPE_CHECKING:
    from mlworkbench.platform.stack import ServiceStatus, Stack


def _stack() -> Stack:
    from mlworkbench.config import get_settings
    from mlworkbench.platform.stack import Stack

    return Stack(get_settings())


def _print_status(rows: list[ServiceStatus]) -> None:
    console.print(table("local stack", ["service", "state", "health", "url", "pid", "rss MiB"], [
        [row.name, row.state, "healthy" if row.healthy else "-", row.url, row.pid,
         None if row.rss_mib is None else f"{row.rss_mib:.0f}"]
        for row in rows
    ]))


def up() -> None:
    """Start the stack (idempotent): PostgreSQL, S3, MLflow server, simulator, data fill,
    Evidently UI, jobs and monitoring services, pipeline scheduler, the model APIs."""
    stack = _stack()
    rows = stack.up(report=lambda line: console.print(line))
    _print_status(rows)
    console.print(f"tracking URI {stack.settings.stack_tracking_uri} is now this workspace's "
                  "default; `mlwb down` stops the stack")


def down(
    purge: bool = typer.Option(False, help="Also delete the stack's data (databases, bucket)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --purge."),
) -> None:
    """Stop every service of the stack; the data stays unless --purge."""
    stack = _stack()
    if purge and not yes:
        typer.confirm(f"Delete all stack data under {stack.settings.stack_dir}?", abort=True)
    pids = stack.down(purge=purge)
    console.print(f"stack stopped ({len(pids)} processes)" + ("; data deleted" if purge else ""))


def status() -> None:
    """Each service: supervisor state, health, URL, pid, resident memory."""
    _print_status(_stack().status())


def logs(
    service: str | None = typer.Argument(None, help="Service name; all of them when left out."),
    lines: int = typer.Option(40, "--lines", "-n", help="How many last lines."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
) -> None:
    """The last lines of a service's log (supervisord keeps them in the workspace)."""
    stack = _stack()
    names = [service] if service else [s.name for s in stack.services()]
    paths = [Path(stack.log_file(name)) for name in names]
    for name, path in zip(names, paths, strict=True):
        if not service:
            console.print(f"==> {name} ({path})")
        if path.exists():
            console.print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]),
                          markup=False, highlight=False)
    if follow and service:
        _follow(paths[0])


def _follow(path: Path) -> None:
    with path.open(errors="replace") as handle:
        handle.seek(0, 2)
        while True:
            line = handle.readline()
            if line:
                console.print(line.rstrip("\n"), markup=False, highlight=False)
            else:
                time.sleep(0.2)
