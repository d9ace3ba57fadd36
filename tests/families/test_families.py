"""The registry: a family by its name, by the model it registers, by a model reference."""

from __future__ import annotations

import pytest

from mlworkbench.config import Settings
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.families import FAMILIES, for_model, get, of_reference


def test_both_families_are_registered_under_their_names() -> None:
    assert sorted(FAMILIES) == ["classifier", "recommender"]
    assert all(family.name == name for name, family in FAMILIES.items())


def test_an_unknown_family_is_one_parameter_error() -> None:
    with pytest.raises(InvalidParameterError, match="one of \\['classifier', 'recommender'\\]"):
        get("regressor")


def test_a_family_is_found_by_the_model_it_registers() -> None:
    settings = Settings(classifier_model_name="survival")
    assert for_model(settings, "survival") is get("classifier")
    assert for_model(settings, "movielens-recommender") is get("recommender")
    with pytest.raises(ModelNotFoundError, match="survival \\(classifier\\)"):
        for_model(settings, "titanic-classifier")  # the default name, renamed here


@pytest.mark.parametrize("uri", ["models:/survival@champion", "models:/survival/3"])
def test_a_registry_reference_names_its_family(uri: str) -> None:
    assert of_reference(Settings(classifier_model_name="survival"), uri) is get("classifier")


def test_ports_come_from_the_settings_the_family_names() -> None:
    settings = Settings(serve_port=6001, classifier_port=6002)
    assert {name: family.port(settings) for name, family in FAMILIES.items()} == {
        "recommender": 6001, "classifier": 6002}
    assert {family.port_setting for family in FAMILIES.values()} == {
        "MLWB_SERVE_PORT", "MLWB_CLASSIFIER_PORT"}
