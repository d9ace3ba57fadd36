"""A store made by the previous schema (version 1, with the serving tables the old service
created by itself) opens and is migrated: nothing lost, the new columns and tables there."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from mlworkbench.data import migrations, predictions
from mlworkbench.data.store import Store


def _version_one_store(url: str) -> None:
    """The tables exactly as version 1 and the old prediction log defined them."""
    engine = sa.create_engine(url)
    old = sa.MetaData()
    sa.Table("store_version", old, sa.Column("version", sa.Integer, primary_key=True),
             sa.Column("description", sa.String(200)), sa.Column("applied_at", sa.DateTime))
    sa.Table("ingest_batches", old, sa.Column("id", sa.Integer, primary_key=True),
             *(sa.Column(c, sa.String(500)) for c in ("kind", "source", "stage", "digest",
                                                       "schema_version")),
             *(sa.Column(c, sa.Integer) for c in ("received", "accepted", "rejected")),
             sa.Column("created_at", sa.DateTime))
    sa.Table("passengers", old, sa.Column("id", sa.Integer, primary_key=True),
             *(sa.Column(c, sa.String(16)) for c in ("pclass", "survived", "sex")),
             sa.Column("age", sa.Float), sa.Column("sibsp", sa.Integer),
             sa.Column("parch", sa.Integer), sa.Column("batch_id", sa.Integer))
    sa.Table("prediction_log", old, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("request_id", sa.String(64)), sa.Column("served_at", sa.DateTime),
             sa.Column("model_name", sa.String(255)), sa.Column("model_version", sa.Integer),
             sa.Column("source", sa.String(16)), sa.Column("user_id", sa.BigInteger),
             sa.Column("fallback", sa.String(32)), sa.Column("items", sa.Text),
             sa.Column("scores", sa.Text))
    sa.Table("interactions", old, sa.Column("id", sa.Integer, primary_key=True),
             *(sa.Column(c, sa.BigInteger) for c in ("user_id", "item_id", "event_time")),
             sa.Column("rating", sa.Float), sa.Column("batch_id", sa.Integer))
    for name in ("items", "quarantine", "snapshots"):  # untouched by the migrations
        sa.Table(name, old, sa.Column("id", sa.Integer, primary_key=True))
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(old.tables["store_version"].insert(), {
            "version": 1, "description": "baseline", "applied_at": dt.datetime(2026, 11, 1)})
        connection.execute(old.tables["passengers"].insert(), {
            "pclass": "1st", "survived": "survived", "sex": "female", "age": 29.0, "sibsp": 0,
            "parch": 0, "batch_id": 1})
        connection.execute(old.tables["prediction_log"].insert(), {
            "request_id": "before-upgrade", "served_at": dt.datetime(2026, 11, 1),
            "model_name": "movielens-recommender", "model_version": 1, "source": "live",
            "user_id": 42, "items": "[260]", "scores": "[1.0]"})
    engine.dispose()


def test_a_version_one_store_is_upgraded_in_place(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _version_one_store(url)
    with Store(url) as store, store.engine.connect() as connection:
        assert migrations.current_version(connection) == migrations.LATEST >= 2
        columns = {c["name"] for c in sa.inspect(connection).get_columns("passengers")}
        assert "embarked" in columns
        assert sa.inspect(connection).has_table("classifier_predictions")
        passengers = pd.read_sql("SELECT * FROM passengers", connection)
    assert passengers[["pclass", "sex"]].values.tolist() == [["1st", "female"]]
    assert passengers["embarked"].isna().all()
    predictions.dispose_engines()
    log = predictions.read_predictions(predictions.store_engine(url))
    assert log[["request_id", "role"]].values.tolist() == [["before-upgrade", "champion"]]
    predictions.dispose_engines()


@pytest.mark.parametrize("opened_by", ["store", "prediction log"])
def test_a_new_store_gets_every_table_from_the_migrations(tmp_path, opened_by) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    if opened_by == "store":
        Store(url).close()
    else:
        predictions.store_engine(url)
        predictions.dispose_engines()
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert migrations.current_version(connection) == migrations.LATEST
    engine.dispose()
    assert {"prediction_log", "classifier_predictions", "precomputed_recommendations",
            "passengers", "interactions", "store_version"} <= tables


def test_the_prediction_logs_user_index_is_dropped_and_its_rows_kept(tmp_path) -> None:
    """A version-5 store, whose prediction log was created with an index on user_id, loses
    that index on opening; a new store never gets it; the request and time indexes stay."""
    url = f"sqlite:///{tmp_path / 'v5.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        operations = migrations.Operations(migrations.MigrationContext.configure(connection))
        migrations._version_table.create(connection)
        for number, description, apply in migrations.MIGRATIONS[:5]:
            apply(operations)
            connection.execute(migrations._version_table.insert().values(
                version=number, description=description, applied_at=dt.datetime(2026, 11, 1)))
        operations.create_index(migrations.USER_INDEX, "prediction_log", ["user_id"])
    engine.dispose()
    served = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    predictions.append_predictions(predictions.store_engine(url), [
        {"request_id": "r1", "served_at": served, "model_name": "m", "model_version": 1,
         "source": "live", "user_id": 7, "items": "[1]", "scores": "[0.5]"}])
    predictions.dispose_engines()
    for path in (url, f"sqlite:///{tmp_path / 'new.db'}"):
        predictions.store_engine(path)
        predictions.dispose_engines()
        engine = sa.create_engine(path)
        with engine.connect() as connection:
            assert migrations.current_version(connection) == migrations.LATEST
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("prediction_log")}
        engine.dispose()
        assert migrations.USER_INDEX not in indexes
        assert {"ix_prediction_log_request_id", "ix_prediction_log_served_at"} <= indexes
    log = predictions.read_predictions(predictions.store_engine(url))
    predictions.dispose_engines()
    assert log[["request_id", "user_id"]].values.tolist() == [["r1", 7]]
