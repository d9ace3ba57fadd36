"""Step 5, verify: every serving process answers ``GET /model`` with the new version before
the time-out; otherwise ``champion`` goes back (training/gate.py) and the run fails here."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from mlworkbench import families
from mlworkbench.config import Settings
from mlworkbench.training import gate as champion_gate


def served_model(url: str, timeout_s: float = 2.0) -> tuple[str | None, int | None]:
    """The model name and version ``url``'s ``GET /model`` names; (None, None) when it does
    not answer."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/model", timeout=timeout_s) as reply:
            described = json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None, None
    version = described.get("version")
    return described.get("name"), int(version) if version is not None else None


def served_version(url: str, timeout_s: float = 2.0) -> int | None:
    """The version ``url``'s ``GET /model`` names, None when it does not answer."""
    return served_model(url, timeout_s)[1]


def serving(settings: Settings, family: str, urls: list[str]) -> list[str]:
    """The services to check. Given URLs: those not serving another model (one list can name
    every family's API; a URL that does not answer stays, and counts as behind). None given:
    the stack's API of this family (``mlwb up`` runs it on the family's port) when it answers
    with this model."""
    name = families.get(family).model_name(settings)
    if urls:
        return [url for url in urls if served_model(url)[0] in (name, None)]
    url = f"http://{settings.stack_host}:{families.get(family).port(settings)}"
    return [url] if served_model(url)[0] == name else []


def wait_for_version(urls: list[str], version: int, timeout_s: float,
                     poll_s: float = 0.2) -> dict[str, int | None]:
    """Poll until every URL serves ``version`` or ``timeout_s`` passes; what each served last."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, int | None] = {url: None for url in urls}
    while True:
        for url in urls:
            if seen[url] != version:
                seen[url] = served_version(url)
        if all(value == version for value in seen.values()) or time.monotonic() >= deadline:
            return seen
        time.sleep(poll_s)


def verify(settings: Settings, family: str, gate_result: dict[str, Any], *,
           urls: list[str] | None = None, timeout_s: float = 60.0) -> dict[str, Any]:
    """``ok`` when every URL serves the promoted version; on time-out, roll back to the
    version it replaced and say so (``rolled_back_to``)."""
    if not gate_result.get("promoted"):
        return {"ok": True, "checked": [], "note": "nothing promoted: nothing to verify"}
    version = int(gate_result["challenger"])
    urls = serving(settings, family, list(urls or []))
    if not urls:
        return {"ok": True, "checked": [], "version": version,
                "note": "no serving URLs configured (MLWB_PIPELINE_SERVING_URLS) and no API "
                        "of this model on the stack's port"}
    started = time.monotonic()
    seen = wait_for_version(urls, version, timeout_s)
    waited = time.monotonic() - started
    if all(value == version for value in seen.values()):
        return {"ok": True, "checked": urls, "version": version, "served": seen,
                "seconds_to_serve": waited}
    behind = {url: value for url, value in seen.items() if value != version}
    result: dict[str, Any] = {"ok": False, "checked": urls, "version": version, "served": seen,
                              "reason": f"not serving version {version} after {timeout_s:g} s: "
                                        f"{behind}"}
    previous = gate_result.get("champion")
    if previous is not None:
        name = families.get(family).model_name(settings)
        back = champion_gate.rollback(name, int(previous), result["reason"], settings)
        result["rolled_back_to"] = back.to_version
    return result
