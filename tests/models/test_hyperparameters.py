from __future__ import annotations

import pytest

from mlworkbench.errors import InvalidParameterError
from mlworkbench.models.hyperparameters import SPECS, validate


def test_defaults_are_filled_and_typed() -> None:
    assert validate("als", {}) == {"factors": 64, "iterations": 15, "regularization": 0.05,
                                   "alpha": 1.0}
    typed = validate("als", {"factors": "32", "alpha": "2.5"})
    assert typed["factors"] == 32 and isinstance(typed["factors"], int)
    assert typed["alpha"] == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [("factors", 1.5), ("factors", "ten"), ("factors", True), ("iterations", 0),
     ("regularization", -0.1), ("alpha", float("nan")), ("factors", None.__class__)],
)
def test_every_bad_value_has_the_same_message_shape(name, value) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        validate("als", {name: value})
    message = str(caught.value)
    assert message.startswith(f"parameter {name!r} of the als recommender must be ")
    assert "; received " in message


def test_every_spec_default_is_within_its_bounds() -> None:
    for kind, specs in SPECS.items():
        for name, spec in specs.items():
            assert spec.low <= spec.default <= spec.high, (kind, name)
            assert validate(kind, {name: spec.default})[name] == spec.default
