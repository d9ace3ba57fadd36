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


@app.command("promote")
def promote(
    name: str | None = typer.Argument(None, help="Registered model (default: the recommender)."),
    metric: str | None = typer.Option(None, help="Metric both versions are compared on "
                                      "(default: the family's, ndcg_at_10 or roc_auc)."),
    min_gain: float = typer.Option(0.0, help="Least improvement that moves champion."),
    dry_run: bool = typer.Option(False, help="Print the comparison; change nothing."),
) -> None:
    """Score challenger and champion on today's holdout; promote only a better challenger.

    Exit code: 0 when the challenger was (or, with --dry-run, would be) promoted,
    3 when the champion stays, 1 on errors.
    """
    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.training.gate import promote as run_gate

    settings = get_settings()
    family = families.for_model(settings, name) if name else families.get("recommender")
    with console.status("scoring challenger and champion on the current holdout"):
        decision = run_gate(family.trainer, name, metric=metric, min_gain=min_gain,
                            dry_run=dry_run, settings=settings)
    rows = [["challenger", decision.challenger, fmt(decision.challenger_score)],
            ["champion", decision.champion or "-", fmt(decision.champion_score)]]
    console.print(table(f"{decision.name}: {decision.metric}", ["role", "version", "score"],
                        rows))
    verb = ("would be promoted" if decision.dry_run else "promoted") if decision.promoted \
        else "not promoted"
    console.print(f"version {decision.challenger} {verb}: {decision.reason}")
    if not decision.promoted:
        raise typer.Exit(3)


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="Registered model."),
    to: int | None = typer.Option(None, "--to", min=1, help="Version to make champion again "
                                  "(default: the one the current champion replaced)."),
    reason: str = typer.Option("rolled back by hand", help="Recorded on the demoted version."),
) -> None:
    """Move champion back; serving processes polling the alias follow within their poll time."""
    from mlworkbench.config import get_settings
    from mlworkbench.training.gate import rollback as move_back

    done = move_back(name, to, reason, get_settings())
    console.print(f"{done.name}: champion {done.from_version} -> {done.to_version} ({reason})")


@app.command("describe")
def describe(
    ref: str = typer.Argument(..., help="NAME or NAME/VERSION (default: newest version)."),
) -> None:
    """Params, metrics, data digest, schema version and promotion history of a version."""
    from mlworkbench.config import get_settings
    from mlworkbench.errors import InvalidParameterError
    from mlworkbench.tracking import client as tracking
    from mlworkbench.tracking.registry import describe as describe_version
    from mlworkbench.tracking.registry import promotion_history

    name, _, number = ref.partition("/")
    if number and not number.isdigit():
        raise InvalidParameterError("VERSION", "models describe", "a positive integer", number)
    client = tracking.configure(get_settings())
    details = describe_version(client, name, int(number) if number else None)
    info = details.info
    console.print(f"{info.name} version {info.version}  aliases: {','.join(info.aliases) or '-'}")
    console.print(f"run {info.run_id}   source {info.source}", soft_wrap=True)
    data = {"digest": details.tags.get("dataset_digest", "-"),
            "schema version": details.run_tags.get("data.schema_version", "-"),
            "snapshot": details.run_tags.get("data.snapshot", "-"),
            "batches": details.run_tags.get("data.batches", "-")}
    console.print("data " + "   ".join(f"{key} {value}" for key, value in data.items()))
    console.print(table("params", ["name", "value"], sorted(details.params.items())))
    console.print(table("metrics", ["name", "value"],
                        [[k, fmt(v)] for k, v in sorted(details.metrics.items())]))
    history = promotion_history(client, name)
    if history:
        console.print(table("promotion history", ["version", "decision", "vs", "challenger",
                                                  "champion", "metric", "at"],
                            [[h["version"], h.get("decision"), h.get("compared_against"),
                              h.get("challenger_score"), h.get("champion_score"),
                              h.get("metric"), h.get("decided_at")] for h in history]))
