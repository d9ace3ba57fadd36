"""Schemathesis generates requests for every operation in /openapi.json: none gets a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from mlworkbench.serving.app import build_app
from mlworkbench.serving.recommender import SERVED

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def api_schema(serving_settings):
    app = build_app("models:/movielens-recommender@champion", SERVED,
                    serving_settings.model_copy(update={"admin_token": None}))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_generated_input_gets_a_server_error(api_schema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            case.call_and_validate(checks=[checks.not_a_server_error])

        no_server_error()
