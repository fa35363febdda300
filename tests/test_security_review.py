"""The small holes a security review of main found (issue "What an operator
trips over"), each closed: every test here failed before its fix."""

import io
import json
import types

import pytest

from lambda_registry.scripts import support as command
from lambda_registry.storage import describe_database

from .support import ALICE, assert_envelope, new_application, new_instance
from .test_operator_tools import ini  # noqa: F401 (a fixture)

APP_MODES = ("standalone", "embedded")
UUID = "24b8a635-8d71-4016-b8f5-c4a14348ed8f"


def test_the_start_up_line_hides_a_password_given_as_a_query_parameter():
    settings = types.SimpleNamespace(dbsession=None, database_url=(
        "postgresql://postgres:Hunter1Secret@127.0.0.1:5432/db?password=Hunter2Secret&sslmode=require"))
    described = describe_database(settings)
    assert "Hunter1Secret" not in described and "Hunter2Secret" not in described
    assert "password=%2A%2A%2A" in described and "sslmode=require" in described  # "***", encoded


def test_export_writes_every_record_the_api_accepted_in_ascii(testapp, ini):  # noqa: F811
    # A lone surrogate as a JSON escape, and a C1 control character: both stored by the API.
    body = json.dumps(new_instance(uuid=UUID, instance_info={"k": "\ud800", "c1": "\x9b31m"}))
    testapp.post("/api/lambda_instances/", body, headers=dict(ALICE, **{"Content-Type": "application/json"}), status=202)
    testapp.post_json("/api/lambda_applications/", new_application(), headers=ALICE, status=202)
    out = io.StringIO()
    assert command.main([ini, "export", "alice"], out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.isascii() for line in lines)
    assert json.loads(lines[0])["instance_info"] == {"k": "\ud800", "c1": "\x9b31m"}


@pytest.mark.parametrize("moment", ["2026-01-01T00:00:00Z\x00DROP TABLE x", "2026-01-01T" + "0" * 10_000,
                                    "2026-01-01T00:00:00 Z", "2026-01-01T00:00:00.1234567Z"])
def test_updated_after_is_a_date_time_and_nothing_more(testapp, moment):
    response = testapp.get("/api/lambda_instances/", params={"updated_after": moment}, headers=ALICE, status=400)
    assert_envelope(response, 400, "Invalid request.", ["updated_after"])


def test_an_unencoded_plus_is_told_how_to_send_it(testapp):
    response = testapp.get("/api/lambda_instances/?updated_after=2026-01-01T00:00:00+02:00", headers=ALICE,
                           status=400)
    assert "%2B" in response.json["errors"][0]["description"]
    testapp.get("/api/lambda_instances/?updated_after=2026-01-01T00:00:00%2B02:00", headers=ALICE, status=200)


@pytest.mark.parametrize("path", ["/api/lambda_instances/", f"/api/lambda_instances/{UUID}",
                                  "/api/lambda_applications/changes", "/api/authenticate"])
def test_answers_about_one_users_records_are_private_to_caches(testapp, path):
    testapp.post_json("/api/lambda_instances/", new_instance(uuid=UUID), headers=ALICE, status=202)
    assert testapp.get(path, headers=ALICE).headers["Cache-Control"] == "private"
    assert testapp.get(path, status=401).headers["Cache-Control"] == "private"
    # The public counts are the same for everyone: no such mark.
    assert "private" not in testapp.get("/api/lambda_instances/count").headers.get("Cache-Control", "")
