from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from mlworkbench.data.ingest import load_titanic
from mlworkbench.errors import DataError, InvalidParameterError, NotFittedError
from mlworkbench.models.classifier import (
    BASELINE,
    CLASSIFIER_SPECS,
    FEATURES,
    KINDS,
    features_frame,
    labels,
    make_baseline,
    make_classifier,
    validate_params,
)

STORE_FORM = pd.DataFrame({
    "pclass": ["1st", "3rd", "2nd"],
    "survived": ["survived", "died", "died"],
    "sex": ["female", "male", "male"],
    "age": [29.0, np.nan, 4.0],
    "sibsp": [0, 1, 2],
    "parch": [0, 0, 1],
})


@pytest.fixture(scope="module")
def titanic() -> pd.DataFrame:
    return load_titanic()


def test_features_frame_turns_the_store_form_into_the_model_input() -> None:
    frame = features_frame(STORE_FORM)
    assert list(frame.columns) == list(FEATURES)
    assert frame["pclass"].tolist() == [1, 3, 2] and frame["pclass"].dtype == np.int64
    assert frame["sex"].tolist() == ["female", "male", "male"]
    assert frame["age"].dtype == np.float64 and np.isnan(frame["age"].iloc[1])
    assert frame["sibsp"].tolist() == [0, 1, 2] and frame["sibsp"].dtype == np.int64
    assert frame["parch"].tolist() == [0, 0, 1] and frame["parch"].dtype == np.int64
    again = features_frame(frame)
    pd.testing.assert_frame_equal(again, frame)


def test_embarked_is_a_feature_only_when_some_passenger_has_one() -> None:
    with_ports = STORE_FORM.assign(embarked=["C", None, "S"])
    frame = features_frame(with_ports)
    assert list(frame.columns) == [*FEATURES, "embarked"]
    assert frame["embarked"].tolist() == ["C", None, "S"]
    assert "embarked" not in features_frame(STORE_FORM.assign(embarked=[None, np.nan, None]))


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [("pclass", "4th", "pclass"), ("age", "old", "age"), ("sibsp", np.nan, "sibsp"),
     ("parch", 1.5, "parch"), ("sex", None, "sex")],
)
def test_features_frame_names_the_bad_column(column, value, says) -> None:
    bad = STORE_FORM.astype({column: object})
    bad.loc[1, column] = value
    with pytest.raises(DataError, match=says):
        features_frame(bad)


def test_labels_are_one_for_survivors_and_refuse_unlabelled_rows() -> None:
    assert labels(STORE_FORM).tolist() == [1, 0, 0]
    assert labels(STORE_FORM).dtype == np.int64
    with pytest.raises(DataError, match="1 passenger"):
        labels(STORE_FORM.assign(survived=["survived", None, "died"]))


def test_the_real_passengers_become_features_and_labels(titanic) -> None:
    frame, y = features_frame(titanic), labels(titanic)
    assert len(frame) == len(y) == 1309
    assert int(frame["age"].isna().sum()) == 263
    assert y.sum() == 500  # 500 of the 1,309 passengers survived
    assert "embarked" not in frame  # the offline data has no port of embarkation


def test_validated_defaults_are_typed_and_unknowns_refused() -> None:
    assert validate_params("logreg", {}) == {"C": 1.0, "max_iter": 1000}
    typed = validate_params("gbm", {"max_depth": "4", "learning_rate": "0.2"})
    assert typed["max_depth"] == 4 and isinstance(typed["max_depth"], int)
    assert typed["learning_rate"] == 0.2
    with pytest.raises(InvalidParameterError) as unknown:
        make_classifier("logreg", factors=3)
    assert (unknown.value.name, unknown.value.received) == ("name", "factors")
    with pytest.raises(InvalidParameterError) as kind:
        make_classifier("svm")
    assert (kind.value.name, kind.value.received) == ("model", "svm")


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [("logreg", "C", 0), ("logreg", "max_iter", 2.5), ("gbm", "learning_rate", "fast"),
     ("gbm", "max_depth", 0), ("gbm", "min_samples_leaf", True), ("gbm", "l2_regularization", -1)],
)
def test_bad_hyperparameters_name_the_field(kind, name, value) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        make_classifier(kind, **{name: value})
    assert caught.value.name == name
    assert str(caught.value).startswith(f"parameter {name!r} of the {kind} classifier must be ")
    assert "; received " in str(caught.value)


def test_every_spec_default_is_within_its_bounds() -> None:
    assert set(CLASSIFIER_SPECS) == set(KINDS)
    for kind, specs in CLASSIFIER_SPECS.items():
        for name, spec in specs.items():
            assert spec.low <= spec.default <= spec.high, (kind, name)


@pytest.mark.parametrize("kind", KINDS)
def test_a_fitted_pipeline_predicts_and_survives_pickling(kind, titanic) -> None:
    X, y = features_frame(titanic), labels(titanic)
    model = make_classifier(kind).fit(X, y)
    proba = model.predict_proba(X)
    assert model.classes_.tolist() == [0, 1]
    assert proba.shape == (1309, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) == {0, 1}
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict_proba(X), proba)
    women_first = X[(X["sex"] == "female") & (X["pclass"] == 1)]
    men_third = X[(X["sex"] == "male") & (X["pclass"] == 3)]
    assert model.predict_proba(women_first)[:, 1].mean() > 0.8
    assert model.predict_proba(men_third)[:, 1].mean() < 0.25


def test_embarked_is_encoded_when_fitted_with_it_and_optional_when_predicting(titanic) -> None:
    X, y = features_frame(titanic), labels(titanic)
    ports = np.random.default_rng(0).choice(["C", "Q", "S"], size=len(X)).astype(object)
    ports[:2] = None
    with_ports = features_frame(X.assign(embarked=ports))
    model = make_classifier("logreg").fit(with_ports, y)
    names = model[:-1].get_feature_names_out().tolist()
    assert [n for n in names if "embarked" in n] == [f"categories__embarked_{p}"
                                                    for p in ("C", "Q", "S", "None")]
    without = model.predict_proba(X.iloc[:5])  # no embarked column: counted as unknown
    assert without.shape == (5, 2)
    plain = make_classifier("logreg").fit(X, y)
    assert not [n for n in plain[:-1].get_feature_names_out() if "embarked" in n]
    np.testing.assert_allclose(plain.predict_proba(with_ports.iloc[:5]),
                               plain.predict_proba(X.iloc[:5]))  # an unseen column is ignored


def test_the_sex_rule_predicts_each_sex_its_training_survival_rate() -> None:
    X = features_frame(STORE_FORM.assign(sex=["female", "female", "male"]))
    rule = make_baseline().fit(X, np.array([1, 0, 1]))
    proba = rule.predict_proba(pd.DataFrame({"sex": ["female", "male", "unknown"]}))
    np.testing.assert_allclose(proba[:, 1], [0.5, 1.0, 2 / 3])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert rule.predict(pd.DataFrame({"sex": ["female", "male"]})).tolist() == [1, 1]
    assert BASELINE == "sex-rule"
    with pytest.raises(NotFittedError):
        make_baseline().predict_proba(X)


def test_the_encoder_gives_the_column_transformers_numbers(titanic) -> None:
    X, y = features_frame(titanic), labels(titanic)
    ports = np.random.default_rng(1).choice(["C", "Q", "S"], size=len(X)).astype(object)
    ports[::50] = None
    for frame in (X, features_frame(X.assign(embarked=ports))):
        encoder = make_classifier("gbm").fit(frame, y)[0]
        unusual = frame.iloc[:4].copy()
        unusual["sex"] = ["female", "other", "male", "male"]  # a category never seen
        unusual["age"] = [np.nan, 200.0, 0.5, np.nan]
        for rows in (frame, unusual):
            np.testing.assert_allclose(encoder.transform(rows),
                                       encoder.transformer_.transform(rows), rtol=0, atol=1e-12)
