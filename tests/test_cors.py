"""SPEC.md "Operations": how the service answers browsers from other origins."""

from pyramid.exceptions import ConfigurationError
import pytest
import webtest

from .minimal_host import make_host
from .support import ALICE, assert_envelope, build_app, dispose, settings_for

PORTAL = "https://portal.example.org"
STRANGER = "https://stranger.example"
PUBLIC = ["/api/lambda_instances/count", "/api/lambda_applications/count/", "/api/users/count",
          "/api/lambda_instances/count/daily", "/api/openapi.json", "/__heartbeat__", "/__lbheartbeat__"]
# Need no token, yet no page elsewhere has a reason to read them (SPEC.md "Operations").
NOT_FOR_BROWSERS = ["/__version__", "/__metrics__"]
TOKEN_URLS = ["/api/lambda_instances/", "/api/lambda_applications/", "/api/authenticate"]


@pytest.fixture(params=["standalone", "embedded"])
def app_with(request, database_url, make_app):
    """``app_with(cors_origins)``: the app, standalone or in the minimal host."""
    hosts = []

    def build(origins=None):
        overrides = {} if origins is None else {"lambda_registry.cors_origins": origins}
        if request.param == "standalone":
            return webtest.TestApp(make_app(**overrides))
        hosts.append(make_host(settings_for(database_url, **overrides)))
        return webtest.TestApp(hosts[-1])

    yield build
    for host in hosts:
        dispose(host)


@pytest.mark.parametrize("path", NOT_FOR_BROWSERS)
def test_the_version_and_the_metrics_answer_only_the_configured_origins(make_app, path):
    testapp = webtest.TestApp(make_app(**{"lambda_registry.cors_origins": PORTAL, "lambda_registry.metrics": "true"}))
    stranger = testapp.get(path, headers={"Origin": STRANGER})
    assert stranger.status_int == 200 and "Access-Control-Allow-Origin" not in stranger.headers
    assert testapp.get(path, headers={"Origin": PORTAL}).headers["Access-Control-Allow-Origin"] == PORTAL


def test_a_browser_client_may_read_the_request_id(app_with):
    response = app_with(PORTAL).get("/api/lambda_instances/", headers=dict(ALICE, Origin=PORTAL))
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"].split(", ")
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_endpoints_answer_any_origin_without_credentials(app_with, path):
    response = app_with().get(path, headers={"Origin": STRANGER})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("path", TOKEN_URLS)
def test_token_endpoints_answer_no_origin_by_default(app_with, path):
    response = app_with().get(path, headers=dict(ALICE, Origin=PORTAL))
    assert response.status_int == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize("path", TOKEN_URLS)
def test_token_endpoints_answer_exactly_the_configured_origins(app_with, path):
    app = app_with(f"{PORTAL} https://other.example.org")
    allowed = app.get(path, headers=dict(ALICE, Origin=PORTAL))
    assert allowed.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "Location" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    refused = app.get(path, headers=dict(ALICE, Origin=STRANGER))
    assert "Access-Control-Allow-Origin" not in refused.headers
    # Without an Origin (not a browser), nothing changes.
    assert "Access-Control-Allow-Origin" not in app.get(path, headers=ALICE).headers


def test_a_star_lets_any_origin_call_the_token_endpoints(app_with):
    response = app_with("*").get(TOKEN_URLS[0], headers=dict(ALICE, Origin=STRANGER))
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_errors_carry_the_cors_headers_so_a_page_can_read_them(app_with):
    response = app_with(PORTAL).get(TOKEN_URLS[0], headers={"Origin": PORTAL}, status=401)
    assert_envelope(response, 401)
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def preflight(app, path, origin, method, status=200):
    return app.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                      "Access-Control-Request-Headers": "authorization, content-type"}, status=status)


def test_a_preflight_from_a_configured_origin_says_what_the_url_takes(app_with):
    app = app_with(PORTAL)
    response = preflight(app, "/api/lambda_instances/", PORTAL, "POST")
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")} == {"GET", "HEAD", "POST"}
    assert {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")} == {
        "authorization", "content-type", "if-match", "if-none-match"}
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    increment = preflight(app, "/api/lambda_applications/x/increment_started/", PORTAL, "POST")
    assert increment.headers["Access-Control-Allow-Methods"].replace(" ", "") == "POST"


def test_a_preflight_from_another_origin_or_for_another_method_is_refused(app_with):
    app = app_with(PORTAL)
    for origin, method in [(STRANGER, "POST"), (PORTAL, "PUT"), (PORTAL, "DELETE")]:
        response = preflight(app, "/api/lambda_instances/", origin, method, status=403)
        assert_envelope(response, 403)
        assert "Access-Control-Allow-Origin" not in response.headers


def test_public_preflights_answer_any_origin(app_with):
    response = preflight(app_with(), "/api/lambda_instances/count", STRANGER, "GET")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_options_without_origin_lists_the_methods(app_with):
    response = app_with().options("/api/lambda_instances/x/")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "HEAD", "POST", "DELETE"}


def test_embedded_a_host_url_gets_nothing_of_ours(database_url, clean_db):
    host = make_host(settings_for(database_url, **{"lambda_registry.cors_origins": "*"}), route_prefix="/registry")
    app = webtest.TestApp(host)
    for page in [app.get("/host/home", headers={"Origin": STRANGER}),
                 app.options("/host/home", headers={"Origin": STRANGER, "Access-Control-Request-Method": "GET"}),
                 app.get("/nothing", headers={"Origin": STRANGER}, status=404)]:
        assert "host:" in page.text
        assert not [name for name in page.headers if name.lower().startswith("access-control")]
    assert app.get("/registry/api/users/count", headers={"Origin": STRANGER}).headers["Access-Control-Allow-Origin"] == "*"
    dispose(host)


@pytest.mark.parametrize("value", ["portal.example.org", "ftp://x.example", "https://x.example/path"])
def test_a_bad_origin_setting_fails_at_start_up_naming_it(database_url, value):
    with pytest.raises(ConfigurationError, match="lambda_registry.cors_origins"):
        build_app(database_url, **{"lambda_registry.cors_origins": value})
