"""Where a benchmark's raw output goes: benchmarks/results/<name>-<UTC time><suffix>."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def save(name: str, content: str, suffix: str = ".txt") -> Path:
    """Write ``content`` as this run's raw output and say where it went."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}{suffix}"
    out.write_text(content)
    print(f"raw output: {out}")
    return out


def report(name: str, lines: list[str]) -> None:
    """Print a benchmark's table and keep it as this run's raw output."""
    text = "\n".join(lines)
    print(text)
    save(name, text + "\n")
