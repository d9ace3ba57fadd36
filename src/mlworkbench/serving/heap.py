"""The served process's long-lived heap kept out of the garbage collector's full passes.

Everything alive once a model is loaded — every imported module, class and function of
MLflow, pandas, scikit-learn, FastAPI, and the model itself — lives as long as the process.
CPython's full collection still walks all of it: in a serving process about 430,000 objects
and about half a second with the interpreter held (``benchmarks/serving_heap.py``), a stall
of every answer in flight, which a p99 shows (``benchmarks/serving_stalls.py`` times the
pauses). :func:`freeze` moves what is alive now out of the collector's sight
(``gc.freeze``): later collections walk only what requests allocate. After a hot swap,
:func:`settle` unfreezes, collects (a replaced model's reference cycles go) and freezes again.
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Exclude every object alive now from future collections (cheap: no walk)."""
    gc.freeze()


def settle() -> None:
    """Collect everything once (one full pass), then freeze the survivors."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
