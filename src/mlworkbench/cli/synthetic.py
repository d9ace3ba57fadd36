"""``mlwb simulate --synthetic``: synthetic interactions at scale, streamed into the data store."""

from __future__ import annotations

import resource
import time

from mlworkbench.cli.output import console, stage_progress


def fill_store(users: int, items: int, interactions: int, seed: int) -> None:
    """Generate the catalogue and interactions chunk by chunk; each chunk is one batch."""
    from mlworkbench.config import get_settings
    from mlworkbench.data.ingest import open_store
    from mlworkbench.data.synthetic import SyntheticSpec, ingest_synthetic

    spec = SyntheticSpec(users=users, items=items, interactions=interactions, seed=seed)
    started = time.perf_counter()
    with open_store(get_settings()) as store, stage_progress() as progress:
        batches = ingest_synthetic(store, spec,
                                   progress=lambda done, total: progress("ingest", done, total))
    accepted = sum(batch.accepted for batch in batches[1:])
    rejected = sum(batch.rejected for batch in batches[1:])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"{accepted:,} interactions accepted, {rejected:,} rejected, in "
                  f"{len(batches) - 1} batches (+ {batches[0].accepted:,} items) in "
                  f"{time.perf_counter() - started:.1f}s; peak memory {peak:,.0f} MiB")
