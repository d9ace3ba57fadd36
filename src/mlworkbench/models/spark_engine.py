"""Apache Spark MLlib ALS (implicit preferences) as an engine: the same model, trained on a cluster.

The engine writes the matrix it is given (the training part of a snapshot, ids mapped to
model rows) as Parquet under ``MLWB_SPARK_DATA_DIR`` — or, when ``MLWB_SPARK_EXCHANGE``
names ``s3://bucket/prefix``, on the store's S3 through pyarrow, which Spark then reads as
``s3a://bucket/prefix`` (hadoop-aws must be on its classpath; the engine checks before it
writes anything) —, Spark reads it there on the cluster ``MLWB_SPARK_MASTER`` names
(``local[*]`` by default), and the learned factors come back the same way; they fill
the same ``user_factors_`` / ``item_factors_`` every engine fills, so scoring, saving,
serving and the gate do not know Spark was involved.

Spark's implicit ALS differs from implicit's in two documented ways (``ALS.scala``): the
confidence of a rating r is ``1 + alpha * |r|`` (implicit: ``alpha * r``), and each
user's and item's L2 penalty is ``regularization`` times their number of ratings
(ALS-WR). :meth:`SparkALSEngine.fold_in` solves exactly Spark's equation.

pyspark is the optional extra ``.[spark]``: this module imports without it, and
fitting without it is one :class:`ConfigError` naming the extra.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlworkbench.config import Settings, get_settings
from mlworkbench.errors import ConfigError, ModelError
from mlworkbench.models.engines import ProgressCallback, RecommenderEngine

logger = logging.getLogger(__name__)
LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = spark %p %c{1}: %m%n
"""
INSTALL_HINT = "install the spark extra: pip install -e '.[spark]' (make install does)"


def _pyspark() -> Any:
    try:
        import pyspark.ml.recommendation as recommendation
        import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"the spark engine needs pyspark, which is not installed; "
                          f"{INSTALL_HINT}") from exc
    return recommendation


def spark_session(settings: Settings) -> Any:
    """The process's Spark session (created once): small on a laptop, as told on a cluster."""
    _pyspark()
    from pyspark.sql import SparkSession

    work = settings.resolved_spark_data_dir
    work.mkdir(parents=True, exist_ok=True)
    quiet = work / "log4j2.properties"  # errors only: Spark's INFO/WARN lines are not ours
    quiet.write_text(LOG4J)
    try:
        session = (
            SparkSession.builder.master(settings.spark_master).appName("mlworkbench")
            .config("spark.driver.memory", settings.spark_driver_memory)
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet}")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.local.dir", str(work / "tmp"))
            .getOrCreate()
        )
    except Exception as exc:  # pyspark raises bare RuntimeError subclasses for a failed JVM
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot start Spark on {settings.spark_master!r}: {detail}; the spark "
                          "engine needs Java 17+ on PATH (or JAVA_HOME) and a reachable "
                          "MLWB_SPARK_MASTER") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkALSEngine(RecommenderEngine):
    """Spark MLlib's alternating least squares with implicit preferences."""

    kind = "als"
    engine = "spark"

    def _fit(self, matrix: sp.csr_matrix, progress: ProgressCallback):
        from mlworkbench.data.export import MATRIX_COLUMNS, write_matrix

        recommendation = _pyspark()
        settings = get_settings()
        session = spark_session(settings)
        run = Exchange(settings, f"fit-{uuid.uuid4().hex[:12]}")
        run.prepare(session)
        blocks = max(1, int(session.sparkContext.defaultParallelism))
        try:
            session.sparkContext.setCheckpointDir(run.spark("checkpoints"))
            write_matrix(matrix, run.path("interactions.parquet"), run.filesystem)
            ratings = session.read.parquet(run.spark("interactions.parquet"))
            als = recommendation.ALS(
                rank=int(self.params["factors"]), maxIter=int(self.params["iterations"]),
                regParam=float(self.params["regularization"]), alpha=float(self.params["alpha"]),
                implicitPrefs=True, userCol=MATRIX_COLUMNS[0], itemCol=MATRIX_COLUMNS[1],
                ratingCol=MATRIX_COLUMNS[2], seed=self.seed, numUserBlocks=blocks,
                numItemBlocks=blocks, coldStartStrategy="drop",
            )
            model = als.fit(ratings)
            model.userFactors.write.parquet(run.spark("user_factors"))
            model.itemFactors.write.parquet(run.spark("item_factors"))
            rank = int(model.rank)
            users = read_factors(run.path("user_factors"), matrix.shape[0], rank, run.filesystem)
            items = read_factors(run.path("item_factors"), matrix.shape[1], rank, run.filesystem)
        except (ConfigError, ModelError):
            raise
        except Exception as exc:  # py4j / Spark errors: translated where they enter
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"Spark ALS failed on {settings.spark_master!r}: {detail}") from exc
        finally:
            run.remove()
        progress(self.iterations)
        return users, items

    def fold_in(self, item_rows: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """Spark's own user solve: (YᵀY + Σ c₁·yyᵀ + λ·n·I) x = Σ (1 + c₁)·y, c₁ = alpha·|r|."""
        _, items = self.check_fitted()
        ratings = np.asarray(confidences, dtype=np.float64)
        factors = items[np.asarray(item_rows)].astype(np.float64)
        c1 = float(self.params["alpha"]) * np.abs(ratings)
        positive = ratings > 0
        lhs = self._gram(items) + (factors.T * c1) @ factors
        lhs += float(self.params["regularization"]) * positive.sum() * np.eye(items.shape[1])
        rhs = ((1.0 + c1) * positive) @ factors
        return np.linalg.solve(lhs, rhs).astype(np.float32)

    def _gram(self, items: np.ndarray) -> np.ndarray:
        cached = getattr(self, "_gram_cache", None)
        if cached is None or cached[0] is not items:
            cached = (items, items.T.astype(np.float64) @ items.astype(np.float64))
            self._gram_cache = cached
        return cached[1]


class Exchange:
    """Where one fit's Parquet lives: a folder under ``MLWB_SPARK_DATA_DIR`` (which every
    executor must see), or ``MLWB_SPARK_EXCHANGE``'s S3 prefix — written and read here with
    pyarrow on the store's S3, and by Spark as ``s3a://``."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        if settings.spark_exchange:
            from mlworkbench.data.export import s3_filesystem

            self.filesystem: Any = s3_filesystem(settings)
            self.root = f"{settings.spark_exchange.removeprefix('s3://').rstrip('/')}/{name}"
        else:
            self.filesystem = None
            self.root = str(settings.resolved_spark_data_dir / name)

    def path(self, part: str) -> str:
        """``part`` as pyarrow names it: a local path, or ``bucket/key``."""
        return f"{self.root}/{part}"

    def spark(self, part: str) -> str:
        """``part`` as Spark names it: a ``file://`` or an ``s3a://`` URL."""
        if self.filesystem is None:
            return Path(self.path(part)).as_uri()
        return f"s3a://{self.path(part)}"

    def prepare(self, session: Any) -> None:
        """Point Spark's s3a at the store's S3; refuse before writing if s3a is missing."""
        if self.filesystem is None:
            return
        from urllib.parse import urlsplit

        endpoint = urlsplit(self.settings.resolved_s3_endpoint_url)
        hadoop = session.sparkContext._jsc.hadoopConfiguration()
        for key, value in {"fs.s3a.endpoint": self.settings.resolved_s3_endpoint_url,
                           "fs.s3a.access.key": self.settings.s3_access_key_id,
                           "fs.s3a.secret.key": self.settings.s3_secret_access_key,
                           "fs.s3a.path.style.access": "true",
                           "fs.s3a.connection.ssl.enabled": str(endpoint.scheme == "https").lower(),
                           }.items():
            hadoop.set(key, value)
        jvm = session.sparkContext._jvm
        try:
            jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass("s3a", hadoop)
        except Exception as exc:  # py4j: ClassNotFoundException / UnsupportedFileSystemException
            version = jvm.org.apache.hadoop.util.VersionInfo.getVersion()
            raise ConfigError(
                f"MLWB_SPARK_EXCHANGE={self.settings.spark_exchange} needs s3a:// in Spark, and "
                f"this Spark has no hadoop-aws jar: add org.apache.hadoop:hadoop-aws:{version} "
                "with its AWS SDK bundle to the driver and executors (spark.jars.packages), or "
                "unset MLWB_SPARK_EXCHANGE to exchange through MLWB_SPARK_DATA_DIR") from exc

    def remove(self) -> None:
        if self.filesystem is None:
            shutil.rmtree(self.root, ignore_errors=True)
            return
        try:
            self.filesystem.delete_dir(self.root)
        except OSError:  # nothing written yet, or S3 gone: nothing to clean
            logger.warning("could not remove the Spark exchange %s", self.root)


def read_factors(path: str, rows: int, rank: int, filesystem: Any = None) -> np.ndarray:
    """Spark's (id, features) factor table as a dense rows x rank array; absent ids stay 0."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["id", "features"], filesystem=filesystem)
    ids = table.column("id").to_numpy()
    values = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    factors = np.zeros((rows, rank), dtype=np.float32)
    factors[ids] = values.reshape(len(ids), rank)
    return factors
