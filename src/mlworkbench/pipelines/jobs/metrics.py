"""Prometheus metrics of the jobs service: submissions, outcomes, durations, jobs by state."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from mlworkbench.data.jobs import Job
from mlworkbench.data.tables import JOB_STATES

DURATION_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)


class JobMetrics:
    """One registry per app (tests build many apps in one process)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.submitted = Counter("mlwb_jobs_submitted", "Jobs accepted, by kind", ["kind"],
                                 registry=r)
        self.outcomes = Counter("mlwb_jobs_finished", "Jobs finished, by kind and state",
                                ["kind", "state"], registry=r)
        self.duration = Histogram("mlwb_job_duration_seconds", "Run time of finished jobs",
                                  ["kind"], buckets=DURATION_BUCKETS, registry=r)
        self.stored = Gauge("mlwb_jobs", "Jobs in the store, by kind and state",
                            ["kind", "state"], registry=r)

    def finished(self, job: Job, seconds: float) -> None:
        self.outcomes.labels(job.kind, job.state).inc()
        self.duration.labels(job.kind).observe(seconds)

    def scrape(self, counts: dict[tuple[str, str], int]) -> bytes:
        kinds = {kind for kind, _ in counts}
        for kind in kinds:
            for state in JOB_STATES:
                self.stored.labels(kind, state).set(counts.get((kind, state), 0))
        return generate_latest(self.registry)
