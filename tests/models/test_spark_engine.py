"""The Spark engine's exchange: a local folder, or the store's S3 (SeaweedFS here) that Spark
reads as s3a:// — refused in one line when this Spark has no hadoop-aws."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from fixtures.objectstore import seaweedfs  # noqa: F401  (the fixture)
from mlworkbench.config import get_settings
from mlworkbench.data.export import write_matrix
from mlworkbench.errors import ConfigError
from mlworkbench.models.engines import make_engine
from mlworkbench.models.spark_engine import Exchange, read_factors
from mlworkbench.platform.objectstore import ObjectStore


def _spark_factors(rows: int, rank: int) -> pa.Table:
    """A factor table as Spark's ALS writes it: (id int, features array<float>)."""
    values = np.arange(rows * rank, dtype=np.float32).reshape(rows, rank)
    return pa.table({"id": pa.array(np.arange(rows, dtype=np.int32)),
                     "features": pa.array(list(values), type=pa.list_(pa.float32()))})


def test_an_s3_exchange_writes_reads_and_removes_on_the_stores_s3(seaweedfs) -> None:  # noqa: F811
    settings = seaweedfs.model_copy(update={"spark_exchange": "s3://exchange/spark/"})
    run = Exchange(settings, "fit-abc")
    assert run.spark("interactions.parquet") == "s3a://exchange/spark/fit-abc/interactions.parquet"
    matrix = sp.random(30, 10, density=0.3, format="csr", dtype=np.float32,
                       random_state=np.random.default_rng(2))
    write_matrix(matrix, run.path("interactions.parquet"), run.filesystem)
    pq.write_table(_spark_factors(30, 4), run.path("user_factors/part-00000.parquet"),
                   filesystem=run.filesystem)
    run.filesystem.open_output_stream(run.path("user_factors/_SUCCESS")).close()
    assert sorted(ObjectStore(settings).keys("spark/")) == [
        "spark/fit-abc/interactions.parquet", "spark/fit-abc/user_factors/_SUCCESS",
        "spark/fit-abc/user_factors/part-00000.parquet"]
    factors = read_factors(run.path("user_factors"), 32, 4, run.filesystem)
    assert factors.shape == (32, 4) and factors[29, 3] == 29 * 4 + 3 and not factors[30:].any()
    run.remove()
    assert ObjectStore(settings).keys("spark/fit-abc") == []  # pyarrow keeps "spark/" itself


def test_a_local_exchange_is_a_folder_under_the_spark_data_dir(workspace) -> None:
    run = Exchange(workspace, "fit-abc")
    assert run.filesystem is None
    assert run.spark("x") == (workspace.home / "spark" / "fit-abc" / "x").as_uri()


@pytest.mark.spark
def test_an_s3_exchange_without_hadoop_aws_is_refused_before_anything_is_written(
        workspace, monkeypatch) -> None:
    monkeypatch.setenv("MLWB_SPARK_EXCHANGE", "s3://exchange/spark")
    get_settings.cache_clear()
    engine = make_engine("als", engine="spark", factors=4, iterations=1)
    matrix = sp.random(20, 10, density=0.3, format="csr", dtype=np.float32,
                       random_state=np.random.default_rng(3))
    with pytest.raises(ConfigError, match=r"no hadoop-aws jar: add org\.apache\.hadoop:hadoop-aws:"
                                          r"[0-9.]+ with its AWS SDK bundle"):
        engine.fit(matrix)
