"""The store on SQLite and on a real PostgreSQL: ingest, quarantine, digests, snapshots."""

from __future__ import annotations

import pandas as pd
import pytest

from mlworkbench.data import ingest, schema
from mlworkbench.data.store import Store
from mlworkbench.errors import DataError, NothingAcceptedError


def test_movielens_loads_every_rating_and_reads_back_identical(store: Store, movielens) -> None:
    items, ratings = ingest.ingest_dataset(store, "movielens")
    assert (items.accepted, items.rejected) == (9066, 0)
    assert (ratings.received, ratings.accepted, ratings.rejected) == (100_004, 100_004, 0)
    snapshot = store.snapshot()
    assert snapshot.batch_ids == (ratings.id,)
    assert snapshot.schema_version == schema.SCHEMA_VERSION
    pd.testing.assert_frame_equal(snapshot.ratings, movielens.ratings)  # order and dtypes too
    pd.testing.assert_frame_equal(snapshot.items, movielens.items)
    assert snapshot.digest == movielens.digest


def test_a_crafted_file_quarantines_exactly_its_bad_rows(movielens_store: Store, movielens,
                                                         tmp_path) -> None:
    good = movielens.ratings.head(40).rename(columns={"user_id": "userId",
                                                      "item_id": "movieId"})
    bad = pd.DataFrame({
        "userId": [1, "abc", 3, 4, 5, 1],
        "movieId": [31, 31, 999_999_999, 31, 31, good.loc[0, "movieId"]],
        "rating": [9.0, 3.0, 3.0, 2.25, 3.0, 1.0],
        "timestamp": [1_000_000_000, 1_000_000_000, 1_000_000_000, 1_000_000_000,
                      "2100-01-01T00:00:00Z", good.loc[0, "timestamp"]],
    })
    bad.loc[5, "userId"] = good.loc[0, "userId"]  # a duplicate of the first good row
    frame = pd.concat([good, bad], ignore_index=True)
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)

    batch = ingest.ingest_file(movielens_store, path, stage="production")

    assert (batch.received, batch.accepted, batch.rejected) == (46, 40, 6)
    assert movielens_store.count("interactions", batch.id) == 40
    quarantined = movielens_store.quarantined(batch.id)
    assert list(quarantined["row"]) == list(range(40, 46))
    assert list(quarantined["reasons"]) == [
        "rating must be 0.5 to 5.0 in steps of 0.5",
        "user_id is missing or not a number",
        "item_id refers to no known item",
        "rating must be 0.5 to 5.0 in steps of 0.5",
        "timestamp is in the future",
        "duplicate of an earlier (user_id, item_id, timestamp) row",
    ]
    assert quarantined["raw"][1]["user_id"] == "abc"  # the row as received


def test_same_content_is_skipped_unless_forced(movielens_store: Store, movielens) -> None:
    first = movielens_store.ingest("interactions", movielens.ratings.head(500), "a")
    again = movielens_store.ingest("interactions", movielens.ratings.head(500), "b")
    assert again.skipped and again.id == first.id
    assert movielens_store.count("interactions") == 500
    forced = movielens_store.ingest("interactions", movielens.ratings.head(500), "c", force=True)
    assert not forced.skipped and forced.id != first.id
    assert (forced.accepted, forced.rejected) == (0, 500)  # forced, yet every event is stored
    assert movielens_store.count("interactions") == 500


def test_all_rejected_is_an_error_but_the_rows_are_kept(store: Store, tmp_path) -> None:
    path = tmp_path / "orphans.csv"
    pd.DataFrame({"user_id": [1, 2], "item_id": [5, 6], "rating": [3.0, 4.0],
                  "timestamp": [10, 20]}).to_csv(path, index=False)
    with pytest.raises(NothingAcceptedError, match="store has no items"):
        ingest.ingest_file(store, path)
    assert len(store.quarantined()) == 2


def test_latest_data_leaves_out_testing_batches_and_snapshots_stay_frozen(
        movielens_store: Store, movielens) -> None:
    ratings = movielens.ratings
    train = movielens_store.ingest("interactions", ratings.iloc[:300], "t")
    movielens_store.ingest("interactions", ratings.iloc[300:400], "x", stage="testing")
    frozen, = movielens_store.save_snapshot("v1")
    production = movielens_store.ingest("interactions", ratings.iloc[400:450], "p",
                                        stage="production")

    latest = movielens_store.snapshot()
    assert latest.batch_ids == (train.id, production.id)
    assert len(latest.ratings) == 350
    again = movielens_store.snapshot("v1")
    assert again.batch_ids == frozen.batch_ids == (train.id,)
    assert again.digest == frozen.digest
    with pytest.raises(DataError, match="exists"):
        movielens_store.save_snapshot("v1")
    with pytest.raises(DataError, match="no snapshot named 'nope'"):
        movielens_store.snapshot("nope")


def test_reopening_a_store_keeps_its_data_and_version(store_url: str, movielens) -> None:
    with Store(store_url) as store:
        store.ingest("items", movielens.items.head(10), "items")
    with Store(store_url) as store:
        assert len(store.known_items()) == 10
        assert [b.kind for b in store.batches()] == ["items"]
