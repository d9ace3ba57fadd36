"""Fault-injection points: a test stops a process at an exact place instead of hoping a
sleep lands there (a kill inside a batch's transaction, a Ctrl-C with a batch in flight).

With ``MLWB_FAULT_PAUSE_FILE`` set to a path, each point writes its name into that file
and waits while the file exists (at most ``MAX_PAUSE_S``); the test acts, then deletes the
file to let the process go on. Unset, as always outside tests, a point costs one lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_FILE = "MLWB_FAULT_PAUSE_FILE"
MAX_PAUSE_S = 60.0


def pause(point: str) -> None:
    """Wait here while the pause file exists (only when the variable names one)."""
    name = os.environ.get(PAUSE_FILE)
    if not name:
        return
    path = Path(name)
    written = path.with_name(path.name + ".part")
    written.write_text(point)
    written.replace(path)  # the test never reads a half-written name
    deadline = time.monotonic() + MAX_PAUSE_S
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
