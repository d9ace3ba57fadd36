"""``mlwb pipeline schedule``: run the continuous-training pipeline on a schedule (APScheduler)."""

from __future__ import annotations

import contextlib
import re
import signal

import typer

from mlworkbench.cli.output import console
from mlworkbench.errors import InvalidParameterError

ALL = "all"


def _seconds(text: str) -> float:
    """``30s``, ``10m``, ``1h``, ``1d`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*", text)
    if match is None:
        raise InvalidParameterError("every", "pipeline schedule", "a duration like 30s, 10m, "
                                    "1h or 1d", text)
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]


def schedule(
    every: str | None = typer.Option(None, help="Run every this long: 30s, 10m, 1h, 1d."),
    cron: str | None = typer.Option(None, help="Or on a crontab expression (UTC), e.g. "
                                    "'0 3 * * *'."),
    model: str = typer.Option(ALL, "--model", "-m", help="Family (recommender, classifier) or "
                              "registered model name; default both families."),
) -> None:
    """Run the pipeline on a schedule until stopped (Ctrl-C, SIGTERM); the schedule is kept in
    the data store. A failing run is logged and the schedule goes on."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines import schedule as scheduling

    settings = get_settings()
    if model == ALL:
        names = list(families.FAMILIES)
    elif model in families.FAMILIES:
        names = [model]
    else:
        names = [families.for_model(settings, model).name]
    when = scheduling.Schedule(every_s=None if every is None else _seconds(every), cron=cron)
    when.trigger()  # a bad schedule fails here, before the store is opened
    runner = scheduling.scheduler(settings, BlockingScheduler)
    scheduling.add_jobs(runner, names, when)
    console.print(f"pipeline of {', '.join(names)} scheduled {when.describe()}; "
                  "Ctrl-C stops the scheduler (the schedule stays in the data store)")
    signal.signal(signal.SIGTERM, lambda *_: runner.shutdown(wait=False))  # supervisord's stop
    with contextlib.suppress(KeyboardInterrupt):
        runner.start()  # blocks until stopped
