"""Schemathesis generates requests for every operation in /openapi.json: none gets a 5xx,
every status and body is one the schema documents, and every 4xx names its field."""

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


def every_4xx_names_its_field(ctx, response, case) -> bool | None:
    """The service's own errors (not MLflow's scoring-protocol ones) say which field is wrong."""
    if 400 <= response.status_code < 500 and case.path != "/invocations":
        body = response.json()
        assert body.get("field"), f"{response.status_code} without a field: {body}"
        assert response.headers.get("x-request-id"), "an error without its request id"
    return None


CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.response_schema_conformance, checks.content_type_conformance,
          every_4xx_names_its_field]
# MLflow's scoring protocol answers as `mlflow models serve` does ("\n" for /ping, its own
# error JSON): only the status checks apply there.
MLFLOW_PROTOCOL = {"/ping", "/invocations", "/version"}
PROTOCOL_CHECKS = [checks.not_a_server_error, checks.status_code_conformance]


def test_no_generated_input_gets_a_server_error_or_an_undocumented_answer(api_schema) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def no_server_error(case) -> None:
            protocol = case.path in MLFLOW_PROTOCOL
            case.call_and_validate(checks=PROTOCOL_CHECKS if protocol else CHECKS)

        no_server_error()
