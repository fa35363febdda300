"""SPEC.md "Users": authenticate, the users count, and who is remembered when."""

import concurrent.futures

import pytest
import webtest

from lambda_registry import get_components
from lambda_registry.services.users import INTERVAL

from .support import ALICE, BOB, FakeClock, assert_envelope, call, new_application, new_instance, served, token_headers

APP_MODES = ("standalone", "embedded")  # our URLs behave the same embedded (conftest)

USERS = "/api/users/count"


def users_count(testapp):
    return testapp.get(USERS).json["data"]["count"]


@pytest.mark.parametrize("url", ["/api/authenticate", "/api/authenticate/"])
def test_authenticate_answers_the_callers_id(testapp, url):
    body = assert_envelope(testapp.get(url, headers=ALICE), 200, "Authenticated.")
    assert body["data"] == [{"id": "alice"}]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Token nobody"}, {"Authorization": "Bearer x"}])
def test_authenticate_without_a_valid_token_is_401_and_remembers_nobody(testapp, query, headers):
    response = testapp.get("/api/authenticate/", headers=headers, status="*")
    assert_envelope(response, 401, error_names=["Authorization"])
    assert response.headers["WWW-Authenticate"] == "Token"
    assert query("SELECT count(*) FROM lambda_users")[0][0] == 0


@pytest.mark.parametrize("url", [USERS, USERS + "/"])
def test_the_users_count_needs_no_token_and_ignores_any(testapp, url):
    assert assert_envelope(testapp.get(url), 200, "Lambda users count.")["data"] == {"count": "0"}
    testapp.get("/api/authenticate/", headers=ALICE)
    assert testapp.get(url, headers={"Authorization": "Token nobody"}).json["data"] == {"count": "1"}


def test_each_user_counts_once_whatever_they_do(testapp):
    testapp.get("/api/authenticate/", headers=ALICE)
    testapp.get("/api/authenticate/", headers=ALICE)
    assert users_count(testapp) == "1"
    testapp.get("/api/lambda_instances/", headers=BOB)  # any authenticated request
    assert users_count(testapp) == "2"
    testapp.post_json("/api/lambda_applications/", new_application(), headers=BOB, status=202)
    assert users_count(testapp) == "2"


def test_a_request_with_a_refused_token_remembers_nobody(testapp, query):
    testapp.get("/api/lambda_instances/", headers={"Authorization": "Token nobody"}, status=401)
    testapp.post_json("/api/lambda_instances/", new_instance(), headers={"Authorization": "Token x"}, status=401)
    assert query("SELECT count(*) FROM lambda_users")[0][0] == 0 and users_count(testapp) == "0"


def test_first_and_last_seen_are_kept_and_nothing_else(testapp, query):
    testapp.get("/api/authenticate/", headers=ALICE)
    (first,) = query("SELECT first_seen, last_seen FROM lambda_users")
    testapp.get("/api/authenticate/", headers=ALICE)
    (second,) = query("SELECT user_id, first_seen, last_seen FROM lambda_users")
    assert second[0] == "alice" and second[1] == first[0] and second[2] > first[1]


def test_a_failed_write_still_remembers_its_valid_caller(testapp):
    """The caller's token was valid: a refused body does not make them unseen."""
    testapp.post_json("/api/lambda_instances/", new_instance(status="99"), headers=ALICE, status=400)
    assert users_count(testapp) == "1"


def test_other_requests_record_a_user_at_most_once_a_minute(make_app, query):
    app = make_app()
    clock = get_components(app.registry).users.clock = FakeClock()
    client = webtest.TestApp(app)
    client.get("/api/lambda_instances/", headers=ALICE)
    (first,) = query("SELECT last_seen FROM lambda_users")
    clock.now += INTERVAL - 1
    client.get("/api/lambda_instances/", headers=ALICE)
    assert query("SELECT last_seen FROM lambda_users")[0] == first  # not written again
    clock.now += 2
    client.get("/api/lambda_instances/", headers=ALICE)
    assert query("SELECT last_seen FROM lambda_users")[0][0] > first[0]
    client.get("/api/authenticate/", headers=ALICE)  # authenticate: always
    assert query("SELECT last_seen FROM lambda_users")[0][0] > first[0]


def test_concurrent_first_requests_of_new_users_count_each_once(make_app, query):
    tokens = [f"token-{n}" for n in range(8)]
    app = make_app(**{"lambda_registry.static_tokens": "\n".join(f"{token} user-{n}" for n, token in enumerate(tokens))})
    with served(app, threads=16) as address:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda token: call(address, "GET", "/api/authenticate/", token)[0], tokens * 4))
        assert answers == [200] * 32
        assert call(address, "GET", USERS)[2]["data"] == {"count": "8"}
    assert query("SELECT count(*) FROM lambda_users")[0][0] == 8
    assert query("SELECT value FROM lambda_counters WHERE name = 'users'")[0][0] == 8


def test_the_count_is_the_counter_not_a_scan(testapp, query, clean_db):
    testapp.get("/api/authenticate/", headers=token_headers("test-token-bob"))
    from sqlalchemy import text

    with clean_db.begin() as connection:  # what another process's new user does
        connection.execute(text("UPDATE lambda_counters SET value = 41 WHERE name = 'users'"))
    get_components(testapp.app.registry).counts.cache.clear()
    assert users_count(testapp) == "41"
