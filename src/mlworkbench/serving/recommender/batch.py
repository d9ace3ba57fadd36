"""Batch predictions: every known user's top-k in vectorised chunks, to Parquet and the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlworkbench.data import predictions
from mlworkbench.errors import DataError
from mlworkbench.serving.model_holder import LoadedModel

CHUNK_USERS = 1_000


@dataclass(frozen=True)
class BatchResult:
    users: int
    rows: int
    score_seconds: float
    total_seconds: float
    out: Path | None

    @property
    def users_per_second(self) -> float:
        return self.users / self.score_seconds if self.score_seconds else float("inf")


def recommend_all(
    model: LoadedModel,
    k: int,
    out: Path | None,
    database_url: str | None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK_USERS,
) -> BatchResult:
    """Score every user the model knows; write (user_id, rank, item_id, score, model) rows."""
    started = time.perf_counter()
    recommender = model.model
    users = recommender.user_ids
    progress = progress or (lambda _done, _total: None)
    scoring = 0.0
    frames = []
    for start in range(0, len(users), chunk):
        tick = time.perf_counter()
        recs = recommender.recommend(users[start : start + chunk], k, exclude_seen=True)
        scoring += time.perf_counter() - tick
        n, width = recs.item_ids.shape
        valid = (recs.item_ids >= 0).ravel()
        frames.append(pd.DataFrame({
            "user_id": np.repeat(recs.user_ids, width)[valid],
            "rank": np.tile(np.arange(1, width + 1, dtype=np.int32), n)[valid],
            "item_id": recs.item_ids.ravel()[valid],
            "score": recs.scores.ravel()[valid],
        }))
        progress(min(start + chunk, len(users)), len(users))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["user_id", "rank", "item_id", "score"])
    frame["model_name"] = model.name
    frame["model_version"] = model.version or 0
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), out)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"cannot write {out}: {exc}") from exc
    if database_url is not None:
        engine = predictions.store_engine(database_url)
        predictions.write_precomputed(engine, frame, model.name, model.version or 0)
    return BatchResult(len(users), len(frame), scoring, time.perf_counter() - started, out)
