"""The monitoring page a person opens: each model's runs with verdicts, and two plots over
time (drift share, online hit rate) drawn as inline SVG, so the page needs no script."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import UTC, datetime

from mlworkbench.monitoring.records import RunRecord

COLOURS = {"ok": "#1a7f37", "drift": "#bf8700", "quality drop": "#cf222e"}
PLOTS = (("drift share", ("input_drift_share", "drift_share")),
         ("online hit rate@k", ("online_hit_rate_at_k",)))


def drift_share(record: RunRecord) -> float | None:
    return _first(record, PLOTS[0][1])


def _first(record: RunRecord, names: tuple[str, ...]) -> float | None:
    for name in names:
        if name in record.metrics:
            return float(record.metrics[name])
    return None


def svg_plot(title: str, points: list[tuple[int, float]], width: int = 420,
             height: int = 160) -> str:
    """A line over time with dots; an empty frame saying so when there are no points."""
    pad = 30
    body = [f'<text x="{pad}" y="16" font-size="13">{html.escape(title)}</text>',
            f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
            'fill="none" stroke="#d0d7de"/>']
    if not points:
        body.append(f'<text x="{width / 2 - 40}" y="{height / 2}" font-size="12" '
                    'fill="#57606a">no runs yet</text>')
    else:
        times = [t for t, _ in points]
        low, high = min(times), max(times)
        top = max(1.0, max(v for _, v in points))

        def xy(t: int, v: float) -> tuple[float, float]:
            x = pad + (width - 2 * pad) * ((t - low) / (high - low) if high > low else 0.5)
            return x, height - pad - (height - 2 * pad) * v / top

        coords = [xy(t, v) for t, v in points]
        body.append('<polyline fill="none" stroke="#0969da" stroke-width="2" points="'
                    + " ".join(f"{x:.1f},{y:.1f}" for x, y in coords) + '"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0969da"/>' for x, y in coords]
        body.append(f'<text x="4" y="{pad + 4}" font-size="10">{top:.2f}</text>'
                    f'<text x="4" y="{height - pad}" font-size="10">0</text>')
    return (f'<svg class="plot" role="img" aria-label="{html.escape(title)}" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>')


def render(runs: list[RunRecord]) -> str:
    """The whole page for these runs (newest first)."""
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for record in runs:
        by_model[record.model_name].append(record)
    sections = [_section(name, records) for name, records in sorted(by_model.items())]
    body = "".join(sections) or "<p>No monitoring runs yet: <code>mlwb monitor run</code> or " \
                                "<code>POST /runs</code>.</p>"
    return ("<!doctype html><html><head><meta charset='utf-8'><title>mlworkbench monitoring"
            "</title><style>body{font-family:sans-serif;margin:24px}table{border-collapse:"
            "collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;font-size:13px}"
            ".verdict{font-weight:bold;color:white;padding:2px 6px;border-radius:4px}"
            "</style></head><body><h1>Monitoring</h1>" + body + "</body></html>")


def _section(name: str, records: list[RunRecord]) -> str:
    latest = records[0]
    oldest_first = list(reversed(records))
    plots = "".join(svg_plot(title, [(r.started, value) for r in oldest_first
                                     if (value := _first(r, names)) is not None])
                    for title, names in PLOTS)
    rows = "".join(
        f"<tr><td>{_when(r.started)}</td><td>{html.escape(r.model_version)}</td>"
        f"<td>{_badge(r.verdict)}</td><td>{html.escape(r.failed_tests)}</td>"
        f"<td>{html.escape(r.windows)}</td>"
        f"<td>{_links(r)}</td></tr>" for r in records)
    return (f"<section class='model'><h2>{html.escape(name)}</h2><p>last verdict "
            f"{_badge(latest.verdict)} at {_when(latest.started)}</p><div>{plots}</div>"
            "<table><tr><th>started (UTC)</th><th>version</th><th>verdict</th>"
            f"<th>failed tests</th><th>windows</th><th></th></tr>{rows}</table></section>")


def _links(record: RunRecord) -> str:
    return " ".join(f"<a href='/runs/{record.run_id}/report?part={part}'>{part}</a>"
                    for part in record.parts)


def _badge(verdict: str) -> str:
    colour = COLOURS.get(verdict, "#57606a")
    return f"<span class='verdict' style='background:{colour}'>{html.escape(verdict)}</span>"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
