"""Property-based fuzz of the OpenAPI schema against the real API server: no 5xx, and every
response conforms to the documented schema (status codes, content types, bodies). On a database,
Redis db and bucket of its own: what it retries or cancels is never another test's item."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from sequoia_api.main import create_app
from sequoia_core.settings import Settings
from tests.support.services import TEST_TOKEN

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
# Building the app opens nothing, so its schema can be read at collection time.
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_conforms_to_its_schema(case, own_api_server):
    # Every check but positive_data_acceptance: a schema-valid request may still be refused for
    # what no schema can say (an S3 key that does not exist, a cursor this API never issued).
    case.call_and_validate(base_url=own_api_server, headers=AUTH, timeout=30,
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
