"""What a monitoring run concludes: named pass/fail tests and one verdict.

Each test belongs to a kind: ``drift`` (the data or the outputs moved away from the
reference) or ``quality`` (the model does worse than its reference). The verdict is
``quality drop`` when a quality test failed, else ``drift`` when a drift test failed,
else ``ok``; the failed tests are named, so a verdict never comes without its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("drift", "quality")
VERDICTS = ("ok", "drift", "quality drop")


@dataclass(frozen=True)
class TestOutcome:
    name: str
    kind: str  # drift | quality
    passed: bool
    description: str = ""

    __test__ = False  # not a pytest test class


@dataclass
class MonitoringResult:
    """The numbers, tests and Evidently snapshots (one per part) of one monitoring run."""

    family: str
    metrics: dict[str, float] = field(default_factory=dict)
    tests: list[TestOutcome] = field(default_factory=list)
    parts: dict[str, Any] = field(default_factory=dict)  # part name -> Evidently snapshot

    @property
    def failed(self) -> list[TestOutcome]:
        return [test for test in self.tests if not test.passed]

    @property
    def verdict(self) -> str:
        kinds = {test.kind for test in self.failed}
        return "quality drop" if "quality" in kinds else "drift" if "drift" in kinds else "ok"

    @property
    def failed_names(self) -> list[str]:
        return [test.name for test in self.failed]

    def html(self, part: str) -> str:
        return str(self.parts[part].get_html_str(as_iframe=False))

    def merge(self, part: str, snapshot: Any, tests: list[TestOutcome],
              metrics: dict[str, float]) -> None:
        self.parts[part] = snapshot
        self.tests.extend(tests)
        self.metrics.update(metrics)
