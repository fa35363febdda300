"""Schemathesis against the app in-process, with the tokens of two users: no
5xx, and every answer conforms to the document (status code, content type,
headers, body schema). Fixed seeds and bounded examples, so CI stays quick
and a failure replays.

Two phases, on each database:

- stateless: each operation alone, positive and negative input;
- stateful, with data present: scenarios that follow the document's OpenAPI
  links from each create to the operations on the same uuid (details,
  updates, counters, delete), each scenario from empty tables.

The last test asserts that every operation's documented success was
checked at least once, and prints what was checked (run alone, it runs
the positive cases and the scenarios itself first).
"""

import collections

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

from lambda_registry import get_components
from lambda_registry.web.openapi import build_document

from .conftest import clear_tables
from .support import ALICE, BOB, build_app

EXAMPLES_PER_OPERATION = 30
SCENARIOS, STEPS = 100, 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
HYPOTHESIS = {"derandomize": True, "deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
# (database, operation, status) -> answers checked
CHECKED = collections.Counter()


def documented_operations():
    """(method, path, mode) of every operation, read from a document-only app
    (no database is touched); negative cases only where there is input to
    break (any text is a valid If-None-Match or If-Match header)."""
    document = build_document(build_app("sqlite://").registry)
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            breakable = [parameter for parameter in operation.get("parameters", ())
                         if not (parameter["in"] == "header" and parameter["schema"] == {"type": "string"})]
            if breakable or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return document, cases


DOCUMENT, OPERATIONS = documented_operations()


def backend(database_url):
    return database_url.split(":", 1)[0]


def record(database_url, case, response):
    CHECKED[(backend(database_url), f"{case.method.upper()} {case.path}", response.status_code)] += 1


@pytest.mark.parametrize("method, path, mode", OPERATIONS, ids=[f"{m} {p} {mode}" for m, p, mode in OPERATIONS])
def test_operation_conforms_to_the_document(app, clean_db, database_url, method, path, mode):
    """Positive cases fit the document, negative ones break it on purpose:
    both must be answered as the document says, never with a 5xx."""
    operation = schemathesis.openapi.from_wsgi("/api/openapi.json", app)[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, **HYPOTHESIS)
    def fuzz(case):
        for user in (ALICE, BOB):
            record(database_url, case, case.call_and_validate(headers=dict(user), checks=CHECKS))

    fuzz()


@pytest.mark.parametrize("user", [ALICE, BOB], ids=["alice", "bob"])
def test_scenarios_with_data_conform_to_the_document(app, clean_db, database_url, user):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # The document's own links only: Schemathesis would also infer links
    # (between both kinds' uuids, from Location headers), which thins the
    # scenarios out and makes them depend on what it learned before.
    schema.config.phases.stateful.inference.algorithms = []
    Scenario = schema.as_state_machine()

    class Scenarios(Scenario):
        def setup(self):
            # Each scenario from empty tables: Hypothesis replays scenarios,
            # and one must not see what another wrote.
            clear_tables(clean_db)
            get_components(app.registry).forget_cached_state()

        def before_call(self, case):
            case.headers = {**(case.headers or {}), **user}  # a real token, not a generated one

        def after_call(self, response, case):
            record(database_url, case, response)

        def validate_response(self, response, case, **kwargs):
            # Not Schemathesis' stateful "use after free" check: an instance
            # stays, destroyed, after DELETE (SPEC.md).
            case.validate_response(response, checks=CHECKS)

    Scenarios.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, **HYPOTHESIS))


def test_every_documented_success_was_checked(app, clean_db, database_url, capsys):
    database = backend(database_url)
    if not any(db == database for db, _, _ in CHECKED):
        # Run alone (or with -k): the checks above have not run on this
        # database in this session, so run their positive cases here.
        for method, path, mode in OPERATIONS:
            if mode == GenerationMode.POSITIVE:
                test_operation_conforms_to_the_document(app, clean_db, database_url, method, path, mode)
        for user in (ALICE, BOB):
            test_scenarios_with_data_conform_to_the_document(app, clean_db, database_url, user)
    checked = {(operation, status): n for (db, operation, status), n in CHECKED.items() if db == database}
    lines, missing = [], []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            success = next(int(code) for code in operation["responses"] if code.startswith("2"))
            statuses = {status: n for (name, status), n in checked.items() if name == label}
            lines.append(f"  {label}: {dict(sorted(statuses.items()))}")
            if not statuses.get(success):
                missing.append(f"{label} {success}")
    total = sum(checked.values())
    successes = sum(n for (_, status), n in checked.items() if status < 300)
    with capsys.disabled():
        print(f"\n[fuzz {database}] {len(lines)} operations, {total} answers checked against the document: "
              f"{successes} successes, {total - successes} errors (none a 5xx)\n" + "\n".join(lines))
    assert not missing, f"documented successes never checked: {missing}"
