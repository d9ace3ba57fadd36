"""Reads for monitoring windows, on SQLite and PostgreSQL: batches by stage, ids, time and
count; interactions streamed in chunks; passengers; snapshots and batch labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from mlworkbench.data import windows
from mlworkbench.data.ingest import load_titanic
from mlworkbench.data.store import Store, batch_label
from mlworkbench.errors import DataError


@pytest.fixture
def three_batches(movielens_store: Store, movielens):
    ratings = movielens.ratings
    made = [movielens_store.ingest("interactions", ratings.iloc[i * 300:(i + 1) * 300],
                                   source=f"part {i}", stage=stage)
            for i, stage in enumerate(["training", "production", "production"])]
    return movielens_store, made, ratings


def test_batches_by_stage_ids_time_and_count(three_batches) -> None:
    store, (train, first, second), _ = three_batches
    engine = store.engine
    assert [b.id for b in windows.find_batches(engine, "interactions", stage="production")] \
        == [first.id, second.id]
    assert [b.id for b in windows.find_batches(engine, "interactions", last=1,
                                               stage="production")] == [second.id]
    assert [b.id for b in windows.find_batches(engine, "interactions",
                                               ids=[train.id, second.id])] == [train.id,
                                                                               second.id]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert windows.find_batches(engine, "interactions", since=later) == []
    assert len(windows.find_batches(engine, "interactions", until=later)) == 3
    arrivals = windows.batch_arrivals(engine, [first.id])
    assert abs(arrivals[first.id] - first.created_at.replace(tzinfo=UTC).timestamp()) < 1e-3


def test_interactions_stream_in_chunks_in_insertion_order(three_batches) -> None:
    store, (_, first, second), ratings = three_batches
    chunks = list(windows.iter_interactions(store.engine, [first.id, second.id], chunk_rows=250))
    assert [len(c) for c in chunks] == [250, 250, 100]
    together = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(together[["user_id", "item_id", "timestamp"]],
                                  ratings.iloc[300:900][["user_id", "item_id", "timestamp"]]
                                  .reset_index(drop=True))
    assert set(together["batch_id"]) == {first.id, second.id}


def test_batch_labels_and_snapshots_name_the_same_batches(three_batches) -> None:
    store, made, _ = three_batches
    ids = tuple(b.id for b in made)
    assert windows.parse_batch_label(batch_label(ids)) == ids
    assert windows.parse_batch_label("1-3,7") == (1, 2, 3, 7)
    store.save_snapshot("frozen")
    assert windows.snapshot_batch_ids(store.engine, "frozen") == ids
    with pytest.raises(DataError, match="no snapshot named 'nope'"):
        windows.snapshot_batch_ids(store.engine, "nope")
    with pytest.raises(DataError, match="shortened"):
        windows.parse_batch_label("1-40,43,... (500 batches)")


def test_passengers_of_a_window(store: Store) -> None:
    batch = store.ingest("passengers", load_titanic(), source="titanic")
    passengers = windows.read_passengers(store.engine, [batch.id])
    assert len(passengers) == 1309
    assert "embarked" not in passengers  # the offline data has no port
    assert set(passengers["survived"]) == {"survived", "died"}
