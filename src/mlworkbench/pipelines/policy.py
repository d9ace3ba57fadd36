"""The knobs of one pipeline run, read from the settings (``MLWB_PIPELINE_*``) once."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from mlworkbench.config import Settings

# the gate's settings that are not MLWB_PIPELINE_*
_SETTING = {"shadow_min_lists": "gate_shadow_min_lists",
            "shadow_tolerance": "gate_shadow_tolerance"}


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
    shadow_min_lists: int = 0  # > 0: retrain, let the service shadow, gate on a later turn
    shadow_tolerance: float = 0.0  # online hit-rate loss in shadow that still passes

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> Policy:
        values = {f.name: getattr(settings, _SETTING.get(f.name, f"pipeline_{f.name}"))
                  for f in fields(cls)}
        values["serving_urls"] = tuple(values["serving_urls"])
        return replace(cls(**values), **overrides)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Policy:
        """The inverse of :meth:`to_dict` (a policy that travelled as JSON)."""
        known = {f.name for f in fields(cls)}
        chosen = {key: value for key, value in values.items() if key in known}
        chosen["serving_urls"] = tuple(chosen.get("serving_urls", ()))
        return cls(**chosen)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "serving_urls": list(self.serving_urls)}
