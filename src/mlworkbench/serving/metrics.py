"""Prometheus metrics of the service, and the ASGI middleware that counts requests.

Requests are counted by :class:`mlworkbench.serving.middleware.ServiceMiddleware`.
Each app gets its own registry (tests build many apps in one process). With
several uvicorn workers, ``mlwb serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` and
``/metrics`` aggregates every worker's files.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

disable_created_metrics()  # the *_created series only add noise to every scrape

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # prometheus-client's own variable


class ServiceMetrics:
    """Request counts and latency by route, batch sizes, model version, prediction-log health."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("mlwb_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("mlwb_http_request_duration_seconds", "Request latency by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.batch_size = Histogram("mlwb_recommendation_batch_users",
                                    "Users per recommendation request", buckets=BATCH_BUCKETS,
                                    registry=r)
        self.model_version = Gauge("mlwb_model_version", "Version of the model being served",
                                   ["model_name"], registry=r, multiprocess_mode="liveall")
        self.model_loaded = Gauge("mlwb_model_loaded_timestamp_seconds",
                                  "When the served model was loaded", ["model_name"], registry=r,
                                  multiprocess_mode="liveall")
        self.reloads = Counter("mlwb_model_reloads", "Model loads after startup, by outcome",
                               ["outcome"], registry=r)
        self.load_failures = Counter("mlwb_model_load_failures",
                                     "Loads of a model version that failed (the old one kept)",
                                     registry=r)
        self.load_failed_at = Gauge("mlwb_model_load_failure_timestamp_seconds",
                                    "When a model load last failed (0: never)", registry=r,
                                    multiprocess_mode="max")
        self.log_dropped = Counter("mlwb_prediction_log_dropped_rows",
                                   "Prediction-log rows dropped because the buffer was full",
                                   registry=r)
        self.log_held = Gauge("mlwb_prediction_log_buffered_rows",
                              "Prediction-log rows waiting for the store", registry=r,
                              multiprocess_mode="liveall")

    def model_swapped(self, name: str, version: int | None, loaded_at: float) -> None:
        if not _multiprocess_dir():  # drop an old model name's series; multiprocess mode can't
            self.model_version.clear()
            self.model_loaded.clear()
        self.model_version.labels(name).set(version or 0)
        self.model_loaded.labels(name).set(loaded_at)

    def load_failed(self, at: float) -> None:
        self.load_failures.inc()
        self.load_failed_at.set(at)

    def exposition(self) -> bytes:
        if _multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
