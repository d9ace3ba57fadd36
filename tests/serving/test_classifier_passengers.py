"""A batch of passengers checked a column at a time gives what record-by-record parsing gives:
the same values, and the same 4xx naming the first bad record and field."""

from __future__ import annotations

import numpy as np
import pytest

from mlworkbench.serving.classifier.passengers import Passengers, _plain, parse_passengers
from mlworkbench.serving.classifier.schemas import parse_passenger
from mlworkbench.web.errors import ServiceError

PLAIN = [
    {"pclass": 1, "sex": "female", "age": 29, "sibsp": 0, "parch": 0},
    {"pclass": "3rd", "sex": "M", "age": 40.5, "embarked": "s"},
    {"pclass": 2, "sex": "Female", "age": None, "sibsp": None, "parch": 2, "embarked": None},
    {"pclass": "2", "sex": "m"},
]


def _one_by_one(records: list[dict]) -> Passengers:
    return Passengers.of([parse_passenger(r, f"passengers.{i}.") for i, r in enumerate(records)])


def test_a_plain_batch_is_checked_by_column_and_equals_record_by_record_parsing() -> None:
    assert _plain(PLAIN) is not None  # the column path took it
    fast, slow = parse_passengers(PLAIN), _one_by_one(PLAIN)
    assert fast.pclass == slow.pclass == [1, 3, 2, 2]
    assert fast.sex == slow.sex == ["female", "male", "female", "male"]
    assert fast.embarked == slow.embarked == [None, "S", None, None]
    for name in ("age", "sibsp", "parch"):
        np.testing.assert_array_equal(fast.array(name), slow.array(name))
    assert np.isnan(fast.array("age")[2]) and fast.array("pclass").dtype == np.int64


def test_values_outside_the_plain_forms_are_parsed_record_by_record() -> None:
    records = [{"class": "1st", "sex": " female ", "age": "29", "sibsp": 1.0, "parch": ""}]
    assert _plain(records) is None
    parsed = parse_passengers(records)
    assert (parsed.pclass, parsed.sex, parsed.age, parsed.sibsp, parsed.parch) == (
        [1], ["female"], [29.0], [1], [None])


@pytest.mark.parametrize(("bad", "field"), [
    ({"pclass": True, "sex": "male"}, "passengers.1.pclass"),
    ({"pclass": 4, "sex": "male"}, "passengers.1.pclass"),
    ({"pclass": 1, "sex": "x"}, "passengers.1.sex"),
    ({"pclass": 1}, "passengers.1.sex"),
    ({"pclass": 1, "sex": "male", "age": 500}, "passengers.1.age"),
    ({"pclass": 1, "sex": "male", "age": -3}, "passengers.1.age"),
    ({"pclass": 1, "sex": "male", "age": True}, "passengers.1.age"),
    ({"pclass": 1, "sex": "male", "sibsp": -1}, "passengers.1.sibsp"),
    ({"pclass": 1, "sex": "male", "parch": 101}, "passengers.1.parch"),
    ({"pclass": 1, "sex": "male", "embarked": "X"}, "passengers.1.embarked"),
    ({"pclass": 1, "sex": "male", "deck": "B"}, "passengers.1.deck"),
    ([1, "male"], "passengers.1"),
])
def test_a_bad_record_in_a_batch_gets_the_4xx_naming_it(bad: object, field: str) -> None:
    with pytest.raises(ServiceError) as refused:
        parse_passengers([PLAIN[0], bad, PLAIN[1]])
    assert refused.value.field == field and refused.value.status == 422
