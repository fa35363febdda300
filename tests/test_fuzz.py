"""Schemathesis against the app in-process: with tokens of two users, no 5xx,
and every answer conforms to the document (status code, content type,
headers, body schema). Fixed seed and a bounded number of examples per
operation, so CI stays quick and a failure replays."""

from hypothesis import HealthCheck, given, settings
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import lambda_registry
from lambda_registry.openapi import build_document

from .support import ALICE, BOB

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def documented_operations():
    """(method, path, mode) of every operation, read from a document-only app
    (no database is touched); negative cases only where there is input to break."""
    app = lambda_registry.main({}, **{"sqlalchemy.url": "sqlite://", "lambda_registry.auth": "static"})
    document = build_document(app.registry)
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


OPERATIONS = documented_operations()
REQUESTS = {"made": 0}


@pytest.fixture(scope="module", autouse=True)
def report_fuzz_volume():
    yield
    # Shown with -s: how many requests the fuzz made in this module.
    print(f"\n[fuzz] {len(OPERATIONS)} operation runs per database, {REQUESTS['made']} requests made by Schemathesis")


@pytest.mark.parametrize("method, path, mode", OPERATIONS, ids=[f"{m} {p} {mode}" for m, p, mode in OPERATIONS])
def test_operation_conforms_to_the_document(app, clean_db, method, path, mode):
    """Positive cases fit the document, negative ones break it on purpose:
    both must be answered as the document says, never with a 5xx."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,  # the same cases on every run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        for user in (ALICE, BOB):
            REQUESTS["made"] += 1
            case.call_and_validate(headers=dict(user), checks=CHECKS)

    fuzz()
