"""A started service shares the interpreter between its threads in 0.5 ms turns."""

from __future__ import annotations

import sys

from mlworkbench.serving.switching import SWITCH_INTERVAL_S


def test_a_started_service_sets_the_short_switch_interval(make_client) -> None:
    default = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        with make_client():
            assert sys.getswitchinterval() == SWITCH_INTERVAL_S
    finally:
        sys.setswitchinterval(default)
