"""The synthetic generator: deterministic, shaped like real data, learnable, and streamed
into the store in chunks through the same validation."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mlworkbench.data.schema import validate
from mlworkbench.data.synthetic import SyntheticData, SyntheticSpec, ingest_synthetic
from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.engines import make_engine
from mlworkbench.models.recommender import Recommender
from mlworkbench.training.evaluate import evaluate
from mlworkbench.training.splits import split

SPEC = SyntheticSpec(users=2_000, items=500, interactions=60_000, clusters=10, seed=3)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.concat(list(SyntheticData(SPEC, chunk_rows=25_000).frames()), ignore_index=True)


def test_same_seed_same_rows_and_chunks_add_up(rows) -> None:
    again = pd.concat(list(SyntheticData(SPEC, chunk_rows=25_000).frames()), ignore_index=True)
    pd.testing.assert_frame_equal(rows, again)
    assert len(rows) == SPEC.interactions
    other = SyntheticData(SyntheticSpec(**{**SPEC.__dict__, "seed": 4}), chunk_rows=25_000)
    assert not other.chunk(0)["item_id"].equals(rows["item_id"].iloc[:25_000])


def test_rows_pass_the_contract_and_time_moves_forward(rows) -> None:
    checked = validate(rows, "interactions", known_items=range(1, SPEC.items + 1))
    assert len(checked.rejected) == 0
    assert rows["user_id"].between(1, SPEC.users).all()
    assert rows["item_id"].between(1, SPEC.items).all()
    assert rows["timestamp"].is_monotonic_increasing and rows["timestamp"].max() < time.time()


def test_popularity_is_a_power_law_and_tastes_follow_clusters(rows) -> None:
    data = SyntheticData(SPEC)
    counts = rows["item_id"].value_counts()
    top = counts.iloc[: SPEC.items // 100].sum() / len(rows)  # the top 1 % of items
    assert top > 0.10  # uniform popularity would give 0.01
    inside = (data.user_cluster[rows["user_id"] - 1]
              == data.item_cluster[rows["item_id"] - 1]).mean()
    assert inside == pytest.approx(SPEC.affinity + (1 - SPEC.affinity) / SPEC.clusters, abs=0.02)
    assert (data.catalogue["genres"] == "cluster-00").sum() == (data.item_cluster == 0).sum()


def test_als_learns_the_clusters_better_than_popularity(rows) -> None:
    holdout = split(rows, "random", 0.2, 42)
    catalogue = SyntheticData(SPEC).catalogue
    scores = {}
    for kind, params in (("als", {"factors": 16, "iterations": 10}), ("popularity", {})):
        model = Recommender.fit(make_engine(kind, **params), holdout.train, catalogue)
        scores[kind] = evaluate(model, holdout.test, 10).metrics["precision_at_10"]
    assert scores["als"] > 1.5 * scores["popularity"], scores


def test_streamed_into_the_store_in_chunks_through_validation(store) -> None:
    spec = SyntheticSpec(users=300, items=50, interactions=5_000, clusters=5)
    seen: list[int] = []
    batches = ingest_synthetic(store, spec, progress=lambda done, _: seen.append(done),
                               chunk_rows=2_000)
    assert [b.kind for b in batches] == ["items", "interactions", "interactions", "interactions"]
    assert [b.accepted for b in batches[1:]] == [2_000, 2_000, 1_000]
    assert seen == [2_000, 4_000, 5_000]
    snapshot = store.snapshot()
    expected = pd.concat(list(SyntheticData(spec, chunk_rows=2_000).frames()), ignore_index=True)
    np.testing.assert_array_equal(snapshot.ratings["item_id"], expected["item_id"])
    assert len(snapshot.items) == spec.items


@pytest.mark.parametrize("field, value", [("users", 0), ("clusters", 600), ("affinity", 1.5),
                                          ("interactions", 2.5)])
def test_bad_specs_are_refused_naming_the_field(field, value) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{field}' of the synthetic data"):
        SyntheticSpec(**{"users": 10, "items": 500, "interactions": 100, field: value})
