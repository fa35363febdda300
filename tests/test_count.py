"""GET /api/lambda_instances/count — public, across all users."""

import uuid as uuidlib

import pytest

from .support import assert_envelope, new_instance

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

COUNTED = "Lambda instances count."


def uuid_n(n):
    return str(uuidlib.UUID(int=n))


@pytest.fixture
def population(testapp, alice, bob):
    """alice: 0, 20, 13 (failed), destroyed; bob: 0, 2, 9 (failed)."""
    for n, status in enumerate(["0", "20", "13", "2"]):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid_n(n + 1), status=status), headers=alice)
    testapp.delete(f"/api/lambda_instances/{uuid_n(4)}", headers=alice)
    for n, status in enumerate(["0", "2", "9"]):
        testapp.post_json("/api/lambda_instances/", new_instance(uuid=uuid_n(n + 1), status=status), headers=bob)


@pytest.mark.parametrize("url", ["/api/lambda_instances/count", "/api/lambda_instances/count/"])
def test_count_needs_no_token_and_counts_every_users_active_records(testapp, population, url):
    body = assert_envelope(testapp.get(url), 200, COUNTED)
    # active: alice 0, 20; bob 0, 2.  failed: 13, 9.  created: 7.  running: two "0".
    assert body["data"] == {"count": "4", "running": "2", "created": "7", "failed": "2"}


def test_count_ignores_any_token(testapp, population, alice):
    bad = {"Authorization": "Token nobody-knows-this"}
    assert testapp.get("/api/lambda_instances/count", headers=bad).json["data"]["count"] == "4"
    assert testapp.get("/api/lambda_instances/count", headers=alice).json["data"]["count"] == "4"


def test_count_with_status_filter_counts_those_codes(testapp, population):
    data = testapp.get("/api/lambda_instances/count?status=0,6").json["data"]
    assert data == {"count": "3", "running": "2", "created": "7", "failed": "2"}


def test_count_follows_updates_and_deletes(testapp, alice, population, counters_agree):
    testapp.post_json(f"/api/lambda_instances/{uuid_n(1)}", {"status": "21"}, headers=alice)
    testapp.post_json(f"/api/lambda_instances/{uuid_n(3)}", {"status": "14"}, headers=alice)
    testapp.delete(f"/api/lambda_instances/{uuid_n(2)}", headers=alice)
    data = testapp.get("/api/lambda_instances/count").json["data"]
    assert data == {"count": "3", "running": "1", "created": "7", "failed": "2"}
    # The counters agree with the records themselves.
    listed = testapp.get("/api/lambda_instances/?status=0,1,2,3,4,5,7,8,10,12,14,16,18,20,22&limit=0", headers=alice).json
    assert listed["pagination"]["count"] == 1
    counters_agree()


def test_empty_registry_counts_zero(testapp):
    data = testapp.get("/api/lambda_instances/count").json["data"]
    assert data == {"count": "0", "running": "0", "created": "0", "failed": "0"}


@pytest.mark.parametrize("query", ["status=42", "status=", "status=0,,1", "status=0&status=1"])
def test_bad_status_filter_is_400(testapp, query):
    response = testapp.get(f"/api/lambda_instances/count?{query}", status="*")
    assert_envelope(response, 400, "Invalid request.", ["status"])


def test_count_accepts_only_get(testapp, alice):
    response = testapp.post_json("/api/lambda_instances/count", {}, headers=alice, status="*")
    assert_envelope(response, 405, "Method not allowed.")
    assert "GET" in response.headers["Allow"]
