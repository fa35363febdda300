"""Every error is the envelope: unknown URLs, methods, crashes, an unreachable database."""

import logging

import pytest
import webtest


from .support import ALICE, UUID, assert_envelope, build_app, new_instance


@pytest.mark.parametrize(
    "url", ["/nowhere", "/api/lambda_instances/x/y/z", "/api/other", "/api/lambda_instances//"]
)
def test_unknown_url_is_404_envelope(testapp, url):
    assert_envelope(testapp.get(url, headers=ALICE, status="*"), 404, "Not found.")


@pytest.mark.parametrize(
    "method, url, allowed",
    [
        ("PUT", "/api/lambda_instances/", {"GET", "POST"}),
        ("DELETE", "/api/lambda_instances", {"GET", "POST"}),
        ("PATCH", f"/api/lambda_instances/{UUID}", {"GET", "POST", "DELETE"}),
        ("GET", f"/api/lambda_instances/{UUID}/status/", {"POST"}),
        ("DELETE", "/api/lambda_instances/count", {"GET"}),
    ],
)
def test_unknown_method_is_405_with_allow(testapp, method, url, allowed):
    response = testapp.request(url, method=method, headers=ALICE, status="*")
    assert_envelope(response, 405, "Method not allowed.")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


class ExplodingPolicy:
    def authenticated_userid(self, request):
        raise RuntimeError("secret internals")


def exploding_policy_factory(registry):
    return ExplodingPolicy()


def test_unexpected_error_is_a_500_envelope_that_says_nothing_internal(make_app, caplog):
    app = webtest.TestApp(make_app(**{"lambda_registry.auth": "tests.test_errors:exploding_policy_factory"}))
    with caplog.at_level(logging.ERROR, logger="lambda_registry"):
        response = app.post_json("/api/lambda_instances/", new_instance(), headers=ALICE, status="*")
    body = assert_envelope(response, 500, "Internal server error.")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert body["errors"][0]["location"] == "url"
    assert any(record.levelno == logging.ERROR for record in caplog.records)


UNREACHABLE = [
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing",
    "sqlite:////nonexistent-directory/for/sure/registry.sqlite",
]


@pytest.mark.parametrize("url", UNREACHABLE)
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("post", "/api/lambda_instances/", new_instance()),
        ("post", f"/api/lambda_instances/{UUID}/status/", {"status": "20"}),
        ("delete", f"/api/lambda_instances/{UUID}", None),
        ("get", "/api/lambda_instances/", None),
        ("get", f"/api/lambda_instances/{UUID}", None),
        ("get", "/api/lambda_instances/count", None),
        ("get", "/__heartbeat__", None),
    ],
)
def test_unreachable_database_is_503(url, method, path, body):
    app = webtest.TestApp(build_app(url, **{"lambda_registry.db_timeout": "2"}))
    if body is not None:
        response = app.post_json(path, body, headers=ALICE, status="*")
    else:
        response = getattr(app, method)(path, headers=ALICE, status="*")
    assert_envelope(response, 503, "The database is unavailable.")
    assert response.headers["Retry-After"]


def test_lbheartbeat_touches_nothing():
    app = webtest.TestApp(build_app(UNREACHABLE[0]))
    assert_envelope(app.get("/__lbheartbeat__"), 200)
    assert_envelope(app.get("/__lbheartbeat__/"), 200)


def test_heartbeat_checks_the_database(testapp):
    body = assert_envelope(testapp.get("/__heartbeat__"), 200)
    assert body["data"] == {"database": "ok"}
