"""How long one of the service's threads may hold the interpreter while another waits for it.

Beside the event loop that answers requests, the service runs threads: the prediction-log
writer, the shadow scorer, the alias poller. CPython lets a thread keep the interpreter lock
for the switch interval (5 ms by default) before a waiting thread may take it, and the loop
gives the lock up at every socket receive, send and poll, so with the writer busy each of
those waited up to 5 ms to get it back: a 100-record classifier request, with its receive,
its two sends and the poll between requests, paid that several times, and answers queued
behind it (the convoy effect). ``benchmarks/serving_stalls.py`` saw the loop stop for
150-240 ms while the writer worked. A 0.5 ms interval bounds each wait at 0.5 ms, for a
few more switches per second when two threads compute at once.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.0005


def share_finely() -> None:
    """Set this process's switch interval to :data:`SWITCH_INTERVAL_S`."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
