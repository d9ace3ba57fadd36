"""The pipeline on a schedule: APScheduler 3 runs :func:`run_pipeline` every interval or on a
cron expression, its jobs kept in the data store (table ``apscheduler_jobs``, migration 5).

One scheduled job per model family (id ``pipeline-<family>``); starting again with other
options replaces it. A run that fails is logged and the schedule goes on: the pipeline
records a failed step itself, and anything that escapes it is caught here. Overlapping runs
of one family are not started (``max_instances=1``; missed runs coalesce into one), and the
pipeline's own lock, cooldown and retry budget still apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mlworkbench import families
from mlworkbench.config import Settings, get_settings
from mlworkbench.data.predictions import store_engine
from mlworkbench.data.tables import SCHEDULER_TABLE
from mlworkbench.errors import InvalidParameterError

logger = logging.getLogger(__name__)
JOB_FUNCTION = "mlworkbench.pipelines.schedule:scheduled_run"  # stored by reference, not pickled
TRIGGER = "schedule"  # the pipeline run's recorded trigger
MISFIRE_GRACE_S = 300  # a run missed while nothing was scheduling still starts this much later


@dataclass(frozen=True)
class Schedule:
    """When to run: every ``every_s`` seconds, or on the crontab expression ``cron``."""

    every_s: float | None = None
    cron: str | None = None

    def trigger(self) -> BaseTrigger:
        if (self.every_s is None) == (self.cron is None):
            raise InvalidParameterError("every/cron", "pipeline schedule",
                                        "exactly one of --every and --cron",
                                        {"every": self.every_s, "cron": self.cron})
        if self.cron is not None:
            try:
                return CronTrigger.from_crontab(self.cron, timezone="UTC")
            except ValueError as exc:
                raise InvalidParameterError("cron", "pipeline schedule", "a crontab expression "
                                            "of 5 fields like '0 * * * *'", self.cron) from exc
        assert self.every_s is not None
        if not self.every_s >= 1:
            raise InvalidParameterError("every", "pipeline schedule", "at least 1 second",
                                        self.every_s)
        return IntervalTrigger(seconds=self.every_s, timezone="UTC")

    def describe(self) -> str:
        return f"cron '{self.cron}' (UTC)" if self.cron else f"every {self.every_s:g} s"


def scheduled_run(family: str) -> str:
    """One scheduled turn for ``family``: the canary judges a newly promoted champion once
    enough of its users are judged (and rolls it back if they fare worse), then the pipeline
    runs; never raises (the schedule goes on)."""
    from mlworkbench.pipelines.canary import canary
    from mlworkbench.pipelines.continuous import run_pipeline

    settings = get_settings()
    try:
        judged = canary(settings, family)
        if judged["decision"] in ("kept", "rolled back"):
            logger.warning("canary of %s: %s", family, judged["reason"])
    except Exception as exc:  # the canary is advice: the pipeline still runs
        logger.exception("canary of %s failed: %s", family, exc)
    try:
        result = run_pipeline(settings, family, trigger=TRIGGER)
    except Exception as exc:  # anything the pipeline did not record itself
        logger.exception("scheduled pipeline run of %s failed: %s", family, exc)
        return "failed"
    log = logger.warning if result.outcome == "failed" else logger.info
    log("scheduled pipeline run of %s: %s (version %s -> %s) %s", family, result.outcome,
        result.version_before, result.version_after, result.reason)
    return result.outcome


def add_jobs(scheduler: BaseScheduler, family_names: list[str], schedule: Schedule) -> None:
    """Put (or replace) one job per family into the scheduler's job store."""
    trigger = schedule.trigger()
    for name in family_names:
        families.get(name)  # an unknown family fails here, before anything is stored
        scheduler.add_job(JOB_FUNCTION, trigger=trigger, args=[name], id=f"pipeline-{name}",
                          name=f"pipeline {name} {schedule.describe()}", replace_existing=True,
                          coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_S)


def scheduler(settings: Settings, kind: type[BaseScheduler] = BackgroundScheduler
              ) -> BaseScheduler:
    """A scheduler of ``kind`` whose job store is the data store's ``apscheduler_jobs``."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    engine = store_engine(settings.resolved_database_url)  # migrated: the table exists
    store = SQLAlchemyJobStore(engine=engine, tablename=SCHEDULER_TABLE)
    return kind(jobstores={"default": store}, timezone="UTC")
