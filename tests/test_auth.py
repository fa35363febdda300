"""Authentication: the Token header, the static policy, policy selection."""

import pytest
from pyramid.exceptions import ConfigurationError
import webtest

import lambda_registry

from .support import ALICE_TOKEN, UUID, FunctionPolicy, assert_envelope, build_app, new_instance, settings_for

PROTECTED = [
    ("post", "/api/lambda_instances/"),
    ("get", "/api/lambda_instances/"),
    ("get", f"/api/lambda_instances/{UUID}"),
    ("post", f"/api/lambda_instances/{UUID}/status/"),
    ("delete", f"/api/lambda_instances/{UUID}"),
]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Token",
        "Token ",
        "Bearer " + ALICE_TOKEN,
        "Basic " + ALICE_TOKEN,
        ALICE_TOKEN,
        "Token unknown-token",
        "Token " + ALICE_TOKEN + " extra",
    ],
)
@pytest.mark.parametrize("method, url", PROTECTED)
def test_missing_malformed_or_unknown_token_is_401(testapp, query, header, method, url):
    headers = {} if header is None else {"Authorization": header}
    if method == "post":
        response = testapp.post_json(url, new_instance(), headers=headers, status="*")
    else:
        response = getattr(testapp, method)(url, headers=headers, status="*")
    assert_envelope(response, 401, error_names=["Authorization"])
    assert response.headers["WWW-Authenticate"] == "Token"
    assert ALICE_TOKEN not in response.text
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


@pytest.mark.parametrize("header", ["Token " + ALICE_TOKEN, "token " + ALICE_TOKEN, "TOKEN   " + ALICE_TOKEN])
def test_the_word_token_in_any_case_and_spaces(testapp, header):
    response = testapp.get("/api/lambda_instances/", headers={"Authorization": header})
    assert_envelope(response, 200)


def header_policy_factory(registry):
    """A third-party policy: the owner is whatever X-Test-User says."""
    return FunctionPolicy(lambda request: request.headers.get("X-Test-User"))


def not_a_policy_factory(registry):
    return object()


def test_dotted_policy_factory(make_app):
    app = webtest.TestApp(make_app(**{"lambda_registry.auth": "tests.test_auth:header_policy_factory"}))
    app.post_json("/api/lambda_instances/", new_instance(), headers={"X-Test-User": "carol"}, status=202)
    listed = app.get("/api/lambda_instances/", headers={"X-Test-User": "carol"}).json["data"]
    assert [record["uuid"] for record in listed] == [UUID]
    assert app.get("/api/lambda_instances/", headers={"X-Test-User": "dave"}).json["data"] == []
    assert_envelope(app.get("/api/lambda_instances/", status="*"), 401)


@pytest.mark.parametrize(
    "value",
    ["nonsense", "tests.test_auth:missing", "no_such_module:factory", "tests.test_auth:not_a_policy_factory"],
)
def test_unknown_policy_fails_at_start_up_naming_the_setting(database_url, value):
    with pytest.raises(ConfigurationError, match="lambda_registry.auth"):
        build_app(database_url, **{"lambda_registry.auth": value})


def test_standalone_app_requires_a_policy(database_url):
    settings = settings_for(database_url)
    del settings["lambda_registry.auth"]
    with pytest.raises(ConfigurationError, match="lambda_registry.auth"):
        lambda_registry.main({}, **settings)


def test_malformed_static_tokens_fail_without_showing_the_line(database_url):
    settings = settings_for(database_url, **{"lambda_registry.static_tokens": "secret-token alice extra"})
    with pytest.raises(ConfigurationError, match="lambda_registry.static_tokens") as failure:
        lambda_registry.main({}, **settings)
    assert "secret-token" not in str(failure.value)
