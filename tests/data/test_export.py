"""Parquet exports: a store snapshot as it is, and a training matrix as Spark reads it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse as sp

from fixtures.objectstore import seaweedfs  # noqa: F401  (the fixture)
from mlworkbench.data import export
from mlworkbench.data.synthetic import SyntheticSpec, ingest_synthetic


def test_a_matrix_round_trips_through_parquet(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(export, "ROW_GROUP", 7)  # several row groups from a small matrix
    rng = np.random.default_rng(0)
    matrix = sp.random(40, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    path = export.write_matrix(matrix, tmp_path / "m.parquet")
    table = pq.read_table(path)
    assert pq.ParquetFile(path).num_row_groups > 1
    assert [str(t) for t in table.schema.types] == ["int32", "int32", "float"]
    back = sp.csr_matrix((table["rating"].to_numpy(),
                          (table["user"].to_numpy(), table["item"].to_numpy())),
                         shape=matrix.shape)
    assert (back != matrix).nnz == 0


def test_a_snapshot_is_exported_once_by_digest(store, tmp_path) -> None:
    ingest_synthetic(store, SyntheticSpec(users=100, items=40, interactions=3_000, clusters=4))
    target = export.export_snapshot(store, tmp_path)
    snapshot = store.snapshot()
    assert target.name == snapshot.digest
    pd.testing.assert_frame_equal(pd.read_parquet(target / "ratings.parquet"), snapshot.ratings)
    assert len(pd.read_parquet(target / "items.parquet")) == 40
    written = (target / "ratings.parquet").stat().st_mtime_ns
    assert export.export_snapshot(store, tmp_path) == target
    assert (target / "ratings.parquet").stat().st_mtime_ns == written


def test_a_matrix_lands_on_the_stores_s3(seaweedfs) -> None:  # noqa: F811 (the fixture)
    from mlworkbench.platform.objectstore import ObjectStore

    filesystem = export.s3_filesystem(seaweedfs)
    matrix = sp.random(50, 20, density=0.3, format="csr", dtype=np.float32,
                       random_state=np.random.default_rng(1))
    key = "exchange/spark/fit-1/interactions.parquet"
    assert export.write_matrix(matrix, key, filesystem) == key
    assert ObjectStore(seaweedfs).keys("spark/") == ["spark/fit-1/interactions.parquet"]
    table = pq.read_table(key, filesystem=filesystem)
    back = sp.csr_matrix((table["rating"].to_numpy(),
                          (table["user"].to_numpy(), table["item"].to_numpy())),
                         shape=matrix.shape)
    assert (back != matrix).nnz == 0
