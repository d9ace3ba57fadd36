"""Training reads the store: MLflow names the data's digest and schema, and the same
snapshot gives the same metrics (the same as training on MovieLens directly)."""

from __future__ import annotations

import mlflow
import pytest

from mlworkbench.config import get_settings
from mlworkbench.data.ingest import open_store
from mlworkbench.data.schema import SCHEMA_VERSION
from mlworkbench.data.store import Snapshot
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

pytestmark = pytest.mark.slow
REQUEST = TrainRequest(register=False)


def _dataset_input(run_id: str):
    (dataset_input,) = mlflow.get_run(run_id).inputs.dataset_inputs
    return dataset_input.dataset, {tag.key: tag.value for tag in dataset_input.tags}


def test_first_run_loads_movielens_into_the_store_and_names_its_data(
        workspace, movielens, trained) -> None:
    result = train(RECOMMENDER, REQUEST, workspace)

    dataset, tags = _dataset_input(result.run_id)
    assert dataset.digest == result.dataset_digest == movielens.digest
    assert tags["schema_version"] == SCHEMA_VERSION
    assert (tags["snapshot"], tags["batches"]) == ("latest", "2")
    run = mlflow.get_run(result.run_id)
    assert run.data.tags["data.schema_version"] == SCHEMA_VERSION
    schema = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/data/schema.json")
    assert schema["version"] == SCHEMA_VERSION
    assert result.metrics == trained[1].metrics  # same rows, same order: same model

    with open_store(workspace) as store:
        frozen, = store.save_snapshot("v1")
        store.ingest("interactions", movielens.ratings.head(1000).assign(user_id=99_999),
                     source="later", stage="production")
        assert store.snapshot().digest != frozen.digest
        snapshot = store.snapshot("v1")
    again = train(RECOMMENDER, REQUEST, workspace, data=snapshot)
    assert again.metrics == result.metrics
    assert _dataset_input(again.run_id)[1]["snapshot"] == "v1"


def test_training_data_comes_from_a_postgresql_store(workspace, postgres_database_factory,
                                                      movielens, monkeypatch) -> None:
    monkeypatch.setenv("MLWB_DATABASE_URL", postgres_database_factory())
    get_settings.cache_clear()
    data = RECOMMENDER.load_data(get_settings())  # what train_recommender reads when given no data
    assert isinstance(data, Snapshot) and data.digest == movielens.digest
    with open_store(get_settings()) as store:
        assert store.url.startswith("postgresql+psycopg2://")
        assert store.count("interactions") == 100_004
