"""What the shadow hook costs a request in process: ``ShadowScorer.offer`` with the share at 0
(no challenger: one attribute check) and at 0.5 (the request-id hash, and the queue put for
the sampled half), next to an empty call, in nanoseconds per request:

    .venv/bin/python benchmarks/shadow_offer.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import timeit
from types import SimpleNamespace

from prometheus_client import CollectorRegistry

from mlworkbench.serving.shadow import ShadowScorer


def _scorer(share: float, loaded: bool) -> ShadowScorer:
    settings = SimpleNamespace(shadow_share=share, alias_poll_seconds=0.0,
                               shadow_queue=10_000_000)
    scorer = ShadowScorer(SimpleNamespace(), settings, None, CollectorRegistry())  # type: ignore[arg-type]
    if loaded:
        scorer.challenger = object()  # type: ignore[assignment]  # never scored here
    return scorer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    calls = parser.parse_args().calls
    off, half = _scorer(0.0, False), _scorer(0.5, True)
    ids = [f"{i:032x}" for i in range(calls)]
    users = [1]

    def job(*_args: object) -> None:
        return None

    def empty() -> None:
        for rid in ids:
            job(rid, job, users, 10, True)

    def share(scorer: ShadowScorer) -> None:
        for rid in ids:
            scorer.offer(rid, job, users, 10, True)

    rows = [("empty call (reference)", empty), ("offer, share 0", lambda: share(off)),
            ("offer, share 0.5 (hash + put for half)", lambda: share(half))]
    print("| call | ns per request |\n|---|---|")
    for name, run in rows:
        seconds = min(timeit.repeat(run, number=1, repeat=3))
        print(f"| {name} | {seconds / calls * 1e9:,.0f} |")


if __name__ == "__main__":
    main()
