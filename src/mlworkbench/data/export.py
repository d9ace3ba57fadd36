"""Interactions as Parquet, the format a distributed engine (Spark) reads natively.

Two exports: a store snapshot as it is (user_id, item_id, rating, timestamp), named by
its digest so an unchanged snapshot is written once; and the users x items matrix a
model is trained on (user row, item row, rating) — the training part of a snapshot after
the holdout split, its ids already mapped to the model's rows. Both are written in row
groups, so a large snapshot never needs a second copy in memory. The matrix goes to a local
path or, given :func:`s3_filesystem`, to ``bucket/key`` on the store's S3.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import scipy.sparse as sp

from mlworkbench.config import Settings
from mlworkbench.data.datasets import RATING_COLUMNS, Interactions
from mlworkbench.data.store import Store
from mlworkbench.errors import DataError

ROW_GROUP = 1_000_000
MATRIX_COLUMNS = ("user", "item", "rating")


def export_snapshot(store: Store, directory: Path, name: str | None = None) -> Path:
    """Write the named snapshot (or the latest validated data) under ``directory``."""
    return write_interactions(store.snapshot(name), directory)


def write_interactions(data: Interactions, directory: Path) -> Path:
    """``<directory>/<digest>/ratings.parquet`` and ``items.parquet``; kept if already there."""
    target = Path(directory) / data.digest
    ratings = target / "ratings.parquet"
    if ratings.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    frame = data.ratings[RATING_COLUMNS]
    partial = target / "ratings.parquet.partial"
    with pq.ParquetWriter(partial, pa.Schema.from_pandas(frame.head(0),
                                                         preserve_index=False)) as writer:
        for start in range(0, len(frame), ROW_GROUP):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + ROW_GROUP],
                                                    preserve_index=False))
    data.items.to_parquet(target / "items.parquet", index=False)
    partial.rename(ratings)  # a reader never sees half a file
    return target


def s3_filesystem(settings: Settings) -> pafs.S3FileSystem:
    """The store's S3 (the stack's SeaweedFS, or ``MLWB_S3_ENDPOINT_URL``) with its keys."""
    endpoint = urlsplit(settings.resolved_s3_endpoint_url)
    return pafs.S3FileSystem(access_key=settings.s3_access_key_id,
                             secret_key=settings.s3_secret_access_key,
                             endpoint_override=endpoint.netloc, scheme=endpoint.scheme or "http",
                             region="us-east-1", connect_timeout=5, request_timeout=60)


def write_matrix(matrix: sp.csr_matrix, path: Path | str,
                 filesystem: pafs.FileSystem | None = None) -> Path | str:
    """The non-zero entries of ``matrix`` as (user int32, item int32, rating float32) rows,
    at a local ``path`` or at ``bucket/key`` on ``filesystem``."""
    if matrix.shape[0] >= 2**31 or matrix.shape[1] >= 2**31:
        raise DataError(f"a {matrix.shape} matrix has more rows than int32 ids can name")
    if filesystem is None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    counts = np.diff(matrix.indptr)
    schema = pa.schema([(MATRIX_COLUMNS[0], pa.int32()), (MATRIX_COLUMNS[1], pa.int32()),
                        (MATRIX_COLUMNS[2], pa.float32())])
    step = max(1, ROW_GROUP * matrix.shape[0] // max(1, matrix.nnz))  # users per row group
    with pq.ParquetWriter(str(path), schema, filesystem=filesystem) as writer:
        for start in range(0, matrix.shape[0], step):
            end = min(start + step, matrix.shape[0])
            low, high = matrix.indptr[start], matrix.indptr[end]
            writer.write_table(pa.table([
                pa.array(np.repeat(np.arange(start, end, dtype=np.int32), counts[start:end])),
                pa.array(matrix.indices[low:high].astype(np.int32, copy=False)),
                pa.array(matrix.data[low:high].astype(np.float32, copy=False)),
            ], schema=schema))
    return path
