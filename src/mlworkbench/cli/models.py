"""``mlwb models ...``: what the registry holds."""

from __future__ import annotations

import datetime as dt

import typer

from mlworkbench.cli.output import console, fmt, table

app = typer.Typer(help="Inspect the model registry.", no_args_is_help=True)


@app.command("list")
def list_models(
    name: str | None = typer.Argument(None, help="Only this registered model."),
) -> None:
    """Every registered version: aliases, run, key metric and source URI."""
    from mlworkbench.config import get_settings
    from mlworkbench.tracking import client as tracking
    from mlworkbench.tracking.registry import list_versions

    settings = get_settings()
    versions = list_versions(tracking.configure(settings), name)
    if not versions:
        console.print(f"no registered models in {settings.resolved_registry_uri}")
        return
    rows = [
        [v.name, v.version, ",".join(v.aliases), v.run_id,
         f"{v.key_metric}={fmt(v.key_value)}",
         dt.datetime.fromtimestamp(v.created_ms / 1000).strftime("%Y-%m-%d %H:%M")]
        for v in versions
    ]
    console.print(table(
        f"registered models ({settings.resolved_registry_uri})",
        ["name", "version", "aliases", "run id", "key metric", "created"], rows,
    ))
    for v in versions:  # whole, on their own lines, so they can be copied (seed 001's list_models)
        console.print(f"{v.name}/{v.version} source={v.source}", soft_wrap=True)
