"""The knobs of one pipeline run, read from the settings (``MLWB_PIPELINE_*``) once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from mlworkbench.config import Settings


@dataclass(frozen=True)
class Policy:
    min_new_rows: int = 1000  # new validated rows that trigger a retrain by themselves
    every_seconds: float | None = None  # schedule: retrain when the champion is older
    cooldown_seconds: float = 600.0
    max_failures: int = 3  # failed runs in a row before the pause
    failure_pause_seconds: float = 3600.0
    lease_seconds: float = 1800.0
    min_gain: float = 0.0
    tolerance: float = 0.02  # how much worse on the reference window is still fine
    tune: bool = False
    serving_urls: tuple[str, ...] = field(default_factory=tuple)
    verify_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Policy:
        values = {f.name: getattr(settings, f"pipeline_{f.name}") for f in fields(cls)}
        values["serving_urls"] = tuple(values["serving_urls"])
        return replace(cls(**values), **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "serving_urls": list(self.serving_urls)}
