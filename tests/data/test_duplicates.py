"""One row per event across batches, on both stores: repeats and changed ratings go to the
quarantine, a wrapping fill and a replay over MovieLens add nothing, the key is the
database's own, and a store of the previous schema version upgrades."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mlworkbench.data import ingest, migrations
from mlworkbench.data import tables as t
from mlworkbench.data.fill import fill
from mlworkbench.data.simulator import Simulator
from mlworkbench.data.store import Store
from mlworkbench.errors import NothingAcceptedError

REPEAT = "duplicate of the (user_id, item_id, timestamp) row stored by batch"


def _distinct_events(store: Store) -> tuple[int, int]:
    i = t.interactions.c
    events = sa.select(i.user_id, i.item_id, i.event_time).distinct().subquery()
    with store.engine.connect() as connection:
        return (connection.execute(sa.select(sa.func.count()).select_from(t.interactions))
                .scalar_one(),
                connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one())


def test_the_same_rows_reordered_or_with_a_changed_rating_are_quarantined(
        movielens_store: Store, movielens, tmp_path) -> None:
    rows = movielens.ratings.iloc[5_000:7_000]
    rows.to_csv(tmp_path / "first.csv", index=False)
    first = ingest.ingest_file(movielens_store, tmp_path / "first.csv")
    again = rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
    changed_at = int(again.index[again["rating"] < 5.0][0])
    again.loc[changed_at, "rating"] += 0.5
    new = movielens.ratings.iloc[7_000:7_300]
    pd.concat([again, new], ignore_index=True).to_csv(tmp_path / "again.csv", index=False)

    second = ingest.ingest_file(movielens_store, tmp_path / "again.csv")

    assert (second.received, second.accepted, second.rejected) == (2_300, 300, 2_000)
    assert _distinct_events(movielens_store) == (2_300, 2_300)  # no surplus row
    reasons = movielens_store.quarantined(second.id).set_index("row")["reasons"]
    assert list(reasons.index) == list(range(2_000))
    assert reasons.drop(changed_at).str.startswith(f"{REPEAT} {first.id}").all()
    assert reasons[changed_at] == (
        f"(user_id, item_id, timestamp) stored by batch {first.id} with rating "
        f"{again.loc[changed_at, 'rating'] - 0.5:g}; a later batch never changes a stored "
        f"rating (received {again.loc[changed_at, 'rating']:g})")
    with pytest.raises(NothingAcceptedError, match="all 2000 rows were rejected"):
        ingest.ingest_file(movielens_store, tmp_path / "first.csv", force=True)


def test_a_fill_that_wraps_its_stream_stores_each_event_once(store: Store, movielens) -> None:
    stream = Simulator(movielens).production_rows  # 20,001 rows, then the stream wraps
    seen = []
    fill(store, every_s=0, batches=5, batch_size=5_000, on_batch=seen.append)
    assert sum(b.received for b in seen) == 25_000
    assert _distinct_events(store) == (stream, stream)
    assert sum(b.rejected for b in seen) == 25_000 - stream
    assert store.quarantined(seen[-1].id)["reasons"].str.startswith(REPEAT).all()


def test_movielens_then_one_fill_batch_adds_nothing(store: Store, movielens) -> None:
    ingest.ingest_dataset(store, "movielens")
    seen = []
    fill(store, every_s=0, batches=1, batch_size=1_000, on_batch=seen.append)
    assert (seen[0].accepted, seen[0].rejected) == (0, 1_000)
    assert _distinct_events(store) == (100_004, 100_004)


def test_the_database_itself_refuses_a_second_copy_of_an_event(movielens_store: Store,
                                                                movielens) -> None:
    batch = movielens_store.ingest("interactions", movielens.ratings.head(10), "ten")
    first = movielens.ratings.iloc[0]
    with pytest.raises(IntegrityError), movielens_store.engine.begin() as connection:
        connection.execute(t.interactions.insert(), {
            "user_id": int(first["user_id"]), "item_id": int(first["item_id"]),
            "rating": 1.0, "event_time": int(first["timestamp"]), "batch_id": batch.id})


def _as_previous_version(url: str, movielens) -> tuple[int, int]:
    """A store as the version before the event key left it: no unique key, and the same
    300 events in two batches."""
    previous = next(number for number, _, apply in migrations.MIGRATIONS
                    if apply.__name__ == "_one_row_per_event") - 1
    with Store(url) as store:
        store.ingest("items", movielens.items, "items")
        kept = store.ingest("interactions", movielens.ratings.head(1_000), "first")
        with store.engine.begin() as connection:
            connection.execute(sa.text(f"DROP INDEX {t.EVENT_KEY_INDEX}"))
            connection.execute(sa.text("DELETE FROM store_version WHERE version > :v"),
                               {"v": previous})
            repeat = {**{k: v for k, v in kept.__dict__.items() if k not in ("id", "skipped")},
                      "source": "second", "received": 500, "accepted": 500, "rejected": 0}
            second = connection.execute(t.ingest_batches.insert().returning(
                t.ingest_batches.c.id), repeat).scalar_one()
            rows = movielens.ratings.iloc[700:1_200].rename(columns={"timestamp": "event_time"})
            connection.execute(t.interactions.insert(),
                               rows.assign(batch_id=second).to_dict("records"))
    return kept.id, second


def test_a_store_of_the_previous_version_with_repeats_upgrades_keeping_the_first_copy(
        store_url: str, movielens) -> None:
    kept, second = _as_previous_version(store_url, movielens)
    with Store(store_url) as store:
        with store.engine.connect() as connection:
            assert migrations.current_version(connection) == migrations.LATEST
        assert _distinct_events(store) == (1_200, 1_200)
        upgraded = store.batch(second)
        assert upgraded is not None
        assert (upgraded.accepted, upgraded.rejected) == (200, 300)
        assert store.count("interactions", second) == 200
        moved = store.quarantined(second)
        assert len(moved) == 300
        assert moved["reasons"].str.startswith(f"{REPEAT} {kept}").all()
        assert moved["raw"][0] == {k: movielens.ratings.iloc[700][k].item()
                                   for k in ("user_id", "item_id", "rating", "timestamp")}
        again = store.ingest("interactions", movielens.ratings.iloc[0:50], "again", force=True)
        assert (again.accepted, again.rejected) == (0, 50)
