"""The door to Evidently: run a report, read its tests and single values back.

Evidently is imported here and in the report modules only (it takes seconds to import,
so only when a report is computed). Test statuses come back as ``TestOutcome`` values of
the kind the caller gives, named as Evidently names them.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from mlworkbench.errors import DataError
from mlworkbench.monitoring.verdict import TestOutcome

logger = logging.getLogger(__name__)


def run_report(metrics: list[Any], current: pd.DataFrame, reference: pd.DataFrame | None,
               definition: Any, kind: str, additional: dict[str, pd.DataFrame] | None = None,
               additional_definition: Any = None, name: str | None = None,
               ) -> tuple[Any, list[TestOutcome]]:
    """Run ``metrics`` on current vs reference; return the snapshot and its tests."""
    from evidently import Dataset, Report

    datasets = {key: Dataset.from_pandas(frame, data_definition=additional_definition)
                for key, frame in (additional or {}).items()}
    current_ds = Dataset.from_pandas(current, data_definition=definition)
    reference_ds = (Dataset.from_pandas(reference, data_definition=definition)
                    if reference is not None else None)
    try:
        snapshot = Report(metrics, include_tests=True).run(
            current_ds, reference_ds, additional_data=datasets or None, name=name)
    except (ValueError, KeyError, TypeError) as exc:  # Evidently's refusals are plain errors
        raise DataError(f"cannot compute the {name or kind} report: {exc}") from exc
    outcomes = [TestOutcome(name=str(test["name"]), kind=kind,
                            passed=str(test["status"]).endswith("SUCCESS"),
                            description=str(test.get("description", "")))
                for test in snapshot.dict()["tests"]]
    return snapshot, outcomes


def values(snapshot: Any) -> dict[str, Any]:
    """Each metric's value by Evidently's metric name (numbers, or dicts for tables)."""
    return {str(metric["metric_name"]): metric["value"] for metric in snapshot.dict()["metrics"]}


def table_at(value: dict[str, dict[int, float]], k: int) -> float:
    """The k-th entry (1-based, by position) of a top-k table {'rank': ..., 'value': ...}.

    Read by position, not by its ``rank`` column: Evidently 0.7.23 labels NDCG and MRR
    one rank too high (NDCG@1 sits at rank 2), while precision, recall and hit rate are
    labelled right; by position every table gives the metric at k.
    """
    entries = [value["value"][key] for key in sorted(value["value"])]
    if not entries:
        return 0.0
    return float(entries[min(k, len(entries)) - 1])
