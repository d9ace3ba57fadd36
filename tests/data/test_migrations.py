"""A store made by the previous schema (version 1, with the serving tables the old service
created by itself) opens and is migrated: nothing lost, the new columns and tables there."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from mlworkbench.data import migrations, predictions, windows
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


def _migrated_to(connection: sa.Connection, version: int) -> migrations.Operations:
    """The migrations up to ``version`` applied, and recorded, as a store of that age had them."""
    operations = migrations.Operations(migrations.MigrationContext.configure(connection))
    migrations._version_table.create(connection)
    for number, description, apply in migrations.MIGRATIONS[:version]:
        apply(operations)
        connection.execute(migrations._version_table.insert().values(
            version=number, description=description, applied_at=dt.datetime(2026, 11, 1)))
    return operations


def test_the_prediction_logs_user_index_is_dropped_and_its_rows_kept(tmp_path) -> None:
    """A version-5 store, whose prediction log was created with an index on user_id, loses
    that index on opening; a new store never gets it; the request and time indexes stay."""
    url = f"sqlite:///{tmp_path / 'v5.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        operations = _migrated_to(connection, 5)
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


def _version_six_classifier_log(url: str) -> None:
    """A store at version 6, its classifier log one row per passenger as version 6 made it."""
    engine = sa.create_engine(url)
    old = sa.MetaData()
    sa.Table("classifier_predictions", old,
             sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                       primary_key=True),
             sa.Column("request_id", sa.String(64), nullable=False, index=True),
             sa.Column("served_at", sa.DateTime(timezone=True), nullable=False, index=True),
             sa.Column("model_name", sa.String(255), nullable=False),
             sa.Column("model_version", sa.Integer, nullable=True),
             sa.Column("role", sa.String(16), nullable=False, server_default="champion"),
             sa.Column("source", sa.String(16), nullable=False),
             sa.Column("pclass", sa.Integer, nullable=False),
             sa.Column("sex", sa.String(8), nullable=False),
             sa.Column("age", sa.Float(precision=53), nullable=True),
             sa.Column("sibsp", sa.Integer, nullable=True),
             sa.Column("parch", sa.Integer, nullable=True),
             sa.Column("embarked", sa.String(1), nullable=True),
             sa.Column("probability", sa.Float(precision=53), nullable=False),
             sa.Column("survived", sa.Boolean, nullable=False))
    served = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    head = {"served_at": served, "model_name": "titanic-classifier", "model_version": 1,
            "role": "champion", "source": "post"}
    rows = [  # a batch of two, its shadow, then a GET (the same request id, a second later)
        {**head, "request_id": "b", "pclass": 1, "sex": "female", "age": 29.0, "sibsp": 0,
         "parch": None, "embarked": "S", "probability": 0.9, "survived": True},
        {**head, "request_id": "b", "pclass": 3, "sex": "male", "age": None, "sibsp": None,
         "parch": 2, "embarked": None, "probability": 0.1, "survived": False},
        {**head, "request_id": "b", "model_version": 2, "role": "shadow", "pclass": 1,
         "sex": "female", "age": 29.0, "sibsp": 0, "parch": None, "embarked": "S",
         "probability": 0.8, "survived": True},
        {**head, "request_id": "b", "served_at": served + dt.timedelta(seconds=1),
         "source": "get", "pclass": 2, "sex": "male", "age": 40.5, "sibsp": 1, "parch": 0,
         "embarked": None, "probability": 0.3, "survived": False}]
    with engine.begin() as connection:
        old.create_all(connection)
        _migrated_to(connection, 6)
        connection.execute(old.tables["classifier_predictions"].insert(), rows)
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_version_six_classifier_log_becomes_one_row_per_response(
        tmp_path, kind, request) -> None:
    """Each response's passengers, in order, in one row; what monitoring reads is the same
    passengers, features and probabilities as before; new rows land beside them."""
    url = (f"sqlite:///{tmp_path / 'v6.db'}" if kind == "sqlite"
           else request.getfixturevalue("postgres_database_factory")())
    _version_six_classifier_log(url)
    engine = predictions.store_engine(url)
    try:
        with engine.connect() as connection:
            assert migrations.current_version(connection) == migrations.LATEST
            tables = set(sa.inspect(connection).get_table_names())
        assert "classifier_predictions_v6" not in tables
        log = predictions.read_predictions(engine, table="classifier_predictions")
        assert log[["request_id", "role", "source", "passengers"]].values.tolist() == [
            ["b", "champion", "post", 2], ["b", "shadow", "post", 1], ["b", "champion", "get", 1]]
        predictions.append_predictions(engine, [{
            "request_id": "after", "served_at": dt.datetime(2026, 12, 2, tzinfo=dt.UTC),
            "model_name": "titanic-classifier", "model_version": 1, "role": "champion",
            "source": "get", "passengers": 1, "probabilities": "[0.7]",
            "features": '{"pclass":[1],"sex":["male"],"age":[50],"sibsp":[0],"parch":[0],'
                        '"embarked":["C"]}'}], "classifier_predictions")
        served = windows.read_served_passengers(engine, "titanic-classifier", role=None)
    finally:
        predictions.dispose_engines()
    assert served[["role", "pclass", "sex", "embarked"]].values.tolist() == [
        ["champion", 1, "female", "S"], ["champion", 3, "male", None],
        ["shadow", 1, "female", "S"], ["champion", 2, "male", None], ["champion", 1, "male", "C"]]
    assert served[["age", "sibsp", "parch"]].fillna(-1).values.tolist() == [
        [29, 0, -1], [-1, -1, 2], [29, 0, -1], [40.5, 1, 0], [50, 0, 0]]
    assert served["probability"].tolist() == [0.9, 0.1, 0.8, 0.3, 0.7]
    assert served["served_at"].diff().tolist()[1:] == [0.0, 0.0, 1.0, pytest.approx(
        dt.timedelta(hours=14, minutes=29, seconds=59).total_seconds())]
