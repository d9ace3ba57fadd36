"""``mlwb monitor``: run a monitoring report, list the runs, fetch a report."""

from __future__ import annotations

import webbrowser
from datetime import UTC, datetime
from pathlib import Path

import typer

from mlworkbench.cli.output import console, table
from mlworkbench.errors import InvalidParameterError

app = typer.Typer(help="Monitoring: Evidently reports, verdicts, online quality.",
                  no_args_is_help=True)
KEY_NUMBERS = ("input_drift_item_popularity", "personalization", "precision_at_10",
               "online_hit_rate_at_k")


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidParameterError(name, "monitor run", "an ISO date or time like "
                                    "2026-12-01T10:00", text) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("run")
def run(
    model: str | None = typer.Option(None, help="Registered model (default: the recommender; "
                                     "the classifier's name gets the classifier report)."),
    batch: list[int] = typer.Option([], help="A production batch id of the current window "
                                    "(repeatable)."),
    last: int | None = typer.Option(None, min=1, help="The newest N production batches."),
    since: str | None = typer.Option(None, help="Batches and served rows from (ISO time)."),
    until: str | None = typer.Option(None, help="... until (ISO time, exclusive)."),
    k: int = typer.Option(10, min=1, max=1000, help="Cut-off of the top-k metrics."),
) -> None:
    """Compute drift and quality for the champion against what it was trained on."""
    from mlworkbench.config import get_settings
    from mlworkbench.families import monitor
    from mlworkbench.monitoring.windows import CurrentWindow

    window = CurrentWindow(batch_ids=tuple(batch) or None, last=last,
                           since=_moment(since, "since"), until=_moment(until, "until"))
    outcome = monitor(get_settings(), model, window, k)
    result = outcome.result
    console.print(f"{outcome.model_name} v{outcome.model_version}: verdict "
                  f"[bold]{result.verdict}[/bold]  (run {outcome.run_id})")
    for test in result.failed:
        console.print(f"  failed ({test.kind}): {test.name}  {test.description}")
    console.print(table(None, ["metric", "value"],
                        [[key, f"{value:.4f}"] for key, value in result.metrics.items()]))


@app.command("list")
def list_runs(model: str | None = typer.Option(None, help="Only this model's runs."),
              limit: int = typer.Option(20, min=1, help="Newest first, at most this many.")
              ) -> None:
    """Monitoring runs with their verdicts, newest first."""
    from mlworkbench.config import get_settings
    from mlworkbench.monitoring.records import list_runs as runs

    rows = [[r.run_id, datetime.fromtimestamp(r.started / 1000, UTC).strftime("%Y-%m-%d %H:%M"),
             r.model_name, r.model_version, r.verdict, r.failed_tests, r.windows]
            for r in runs(get_settings(), model, limit)]
    console.print(table("monitoring runs", ["run", "started (UTC)", "model", "version",
                                            "verdict", "failed tests", "windows"], rows))


@app.command("report")
def report(run_id: str = typer.Argument(..., help="A monitoring run id (see `list`)."),
           part: str | None = typer.Option(None, help="input, output, diversity, quality "
                                           "(recommender) or drift, quality (classifier); "
                                           "default the first."),
           out: Path = typer.Option(Path("."), help="Directory to save the HTML into."),
           open_it: bool = typer.Option(False, "--open", help="Open it in a browser.")) -> None:
    """Save one part's HTML report of a run (and open it)."""
    from mlworkbench.config import get_settings
    from mlworkbench.monitoring.records import report_path

    if part is not None and part not in ("input", "output", "diversity", "quality", "drift"):
        raise InvalidParameterError("part", "monitor report", "input, output, diversity, "
                                    "quality or drift", part)
    path = report_path(get_settings(), run_id, part, out)
    console.print(str(path))
    if open_it:
        webbrowser.open(path.resolve().as_uri())


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address (default MLWB_STACK_HOST)."),
    port: int | None = typer.Option(None, min=1, max=65535,
                                    help="Port (default MLWB_MONITORING_PORT, 5003)."),
) -> None:
    """Serve POST/GET /runs, /runs/{id}/report, /status, /metrics and the page at /."""
    import uvicorn

    from mlworkbench.config import get_settings
    from mlworkbench.monitoring.service import build_app

    settings = get_settings()
    host, port = host or settings.stack_host, port or settings.monitoring_port
    console.print(f"monitoring on http://{host}:{port} (docs: /docs)")
    from mlworkbench.families import monitor

    uvicorn.run(build_app(settings, monitor), host=host, port=port, log_level="info")


def profile(snapshot: str | None = typer.Option(None, help="A named snapshot (default: the "
                                                "latest validated data)."),
            out: Path | None = typer.Option(None, help="Also save the HTML here.")) -> None:
    """Write a data-summary report of a snapshot (the data-understanding step), log it."""
    from mlworkbench.config import get_settings
    from mlworkbench.monitoring.profile import profile_snapshot

    made = profile_snapshot(get_settings(), snapshot)
    if out is not None:
        out.write_text(made.html)
    console.print(f"profile logged as run {made.run_id}" + (f", saved to {out}" if out else ""))
    console.print(table(None, ["measure", "value"], [[k, f"{v:,.4g}"] for k, v in
                                                      made.numbers.items()
                                                      if not k.startswith("share_")]))
