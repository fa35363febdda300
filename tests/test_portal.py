"""lambda_registry included in a host portal (examples/portal): the host keeps
its routes, root factory, security policy and error pages; its session says
who the owner is; its writes and ours commit or abort together."""

import html.parser

from pyramid.paster import get_appsettings
import pytest
import webtest

import lambda_portal

from .conftest import clear_tables
from .support import ALICE, ALICE_TOKEN, ROOT, STATIC_TOKENS, UUID, assert_envelope, dispose, new_application, new_instance
from .test_pages import parse

PORTAL_INI = ROOT / "examples" / "portal" / "development.ini"
API = "/registry/api/lambda_instances/"


BUILT = []


def portal_app(database_url, **overrides):
    settings = get_appsettings(str(PORTAL_INI))
    settings["sqlalchemy.url"] = database_url
    settings.update(overrides)
    BUILT.append(lambda_portal.main({}, **settings))
    return webtest.TestApp(BUILT[-1])


@pytest.fixture(autouse=True)
def close_portals():
    """Every portal a test built loses its connections afterwards (PostgreSQL allows 100)."""
    yield
    while BUILT:
        dispose(BUILT.pop())


def clear_portal_tables(engine):
    """Ours and the portal's own (its first app made them)."""
    clear_tables(engine)
    with engine.begin() as connection:
        for table in lambda_portal.Base.metadata.sorted_tables:
            connection.execute(table.delete())


@pytest.fixture
def portal(database_url, clean_db):
    app = portal_app(database_url)  # creates portal_audit
    clear_portal_tables(clean_db)
    return app


def sign_in(portal, user="alice"):
    portal.post("/login", {"user": user, "password": f"{user}-password"}, status=303)


def test_the_session_cookie_is_http_only_and_same_site(portal):
    response = portal.post("/login", {"user": "alice", "password": "alice-password"}, status=303)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_url_that_is_not_utf8_is_the_portals_400_page(portal):
    response = portal.get("/%ff", status=400)
    assert response.content_type == "text/html" and "not valid" in response.text


def test_host_pages_root_factory_and_login_are_the_hosts(portal):
    assert portal.get("/", status=302).location.endswith("/login")
    assert "Sign in" in portal.get("/login").text
    sign_in(portal)
    home = portal.get("/")
    assert home.content_type == "text/html"
    assert "context: portal-root" in home.text


def test_unknown_url_under_our_prefix_is_our_envelope_elsewhere_the_hosts_page(portal):
    assert_envelope(portal.get("/registry/api/nothing", status=404), 404, "Not found.")
    assert_envelope(portal.get("/registry/__heartbeat__/extra", status=404), 404)
    elsewhere = portal.get("/nothing-here", status=404)
    assert elsewhere.content_type == "text/html" and "Portal: no such page" in elsewhere.text
    # Not under the prefix, our URL shapes are the host's too.
    assert "Portal: no such page" in portal.get("/api/lambda_instances/", status=404).text


def test_the_hosts_session_is_the_owner(portal, query):
    assert_envelope(portal.get(API, status=401), 401)
    sign_in(portal)
    portal.post_json(API, new_instance(), status=202)
    assert [tuple(r) for r in query("SELECT owner, uuid FROM lambda_instances")] == [("alice", UUID)]
    # The host's page lists the user's instances through the API.
    assert UUID in portal.get("/").text


def test_the_portal_serves_our_landing_page_under_its_prefix(portal):
    """The portal turns the pages on; its shared session is what the landing page reads through."""
    sign_in(portal)
    portal.post_json(API, new_instance(status="0"), status=202)
    page = portal.get("/registry/", status=200)
    assert page.content_type == "text/html"
    # One running instance, one user: as the count endpoints say.
    figures = parse(page).figures
    assert figures["/registry/api/lambda_instances/count"] == {"count": "1", "running": "1", "created": "1", "failed": "0"}
    assert figures["/registry/api/users/count"] == {"count": "1"}
    for url, shown in figures.items():
        assert portal.get(url).json["data"] == shown
    assert "swagger-ui" in portal.get("/registry/api/docs", status=200).text


def test_the_home_page_lists_the_users_applications_too(portal):
    sign_in(portal)
    portal.post_json("/registry/api/lambda_applications/", new_application(), status=202)
    portal.post("/registry/api/lambda_applications/" + UUID + "/increment_started/", status=202)
    home = portal.get("/")
    assert "<h2>Lambda applications</h2>" in home.text
    assert "<td>wordcount.jar</td><td>UPLOADING</td><td>1</td>" in home.text


def test_one_users_page_does_not_show_anothers_instances(portal, database_url):
    sign_in(portal, "alice")
    portal.post_json(API, new_instance(), status=202)
    bob = portal_app(database_url)
    sign_in(bob, "bob")
    assert UUID not in bob.get("/").text
    assert bob.get(API).json["data"] == []


def test_host_writes_and_ours_commit_together(portal, query):
    sign_in(portal)
    portal.post("/audit-import", {"uuid": UUID}, status=200)
    assert query("SELECT count(*) FROM portal_audit")[0][0] == 1
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 1
    assert portal.get("/registry/api/lambda_instances/count").json["data"]["created"] == "1"


def test_a_host_view_that_writes_through_our_models_then_fails_leaves_nothing(portal, query):
    sign_in(portal)
    failed = portal.post("/audit-import", {"uuid": UUID, "fail": "1"}, status=500)
    # The host's own error page, not our envelope: the URL is the host's.
    assert failed.content_type == "text/html" and "Portal: something went wrong" in failed.text
    assert query("SELECT count(*) FROM portal_audit")[0][0] == 0
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0
    assert query("SELECT count(*) FROM lambda_instance_status_changes")[0][0] == 0
    assert query("SELECT coalesce(sum(record_count), 0) FROM lambda_instance_status_counts")[0][0] == 0
    assert query("SELECT count(*) FROM lambda_instance_owner_counts WHERE record_count <> 0")[0][0] == 0


class ErrorItems(html.parser.HTMLParser):
    """The portal's ``<li data-location data-name>description</li>`` items."""

    def __init__(self):
        super().__init__()
        self.items, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            attributes = dict(attrs)
            self._open = [attributes.get("data-location"), attributes.get("data-name"), ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if tag == "li" and self._open is not None:
            self.items.append(tuple(self._open))
            self._open = None


def error_items(page):
    parser = ErrorItems()
    parser.feed(page)
    return parser.items


@pytest.mark.parametrize("bad_uuid", ["NOT a uuid at all", "", "00000000-0000-4000-8000-00000000000G"])
def test_a_host_import_of_a_bad_record_is_refused_with_the_apis_errors(portal, query, bad_uuid):
    """Host code writes through the same service as the API, so the same
    rules hold: the portal's import of a bad uuid stores nothing (not even
    the portal's audit entry of that request) and shows the API's errors."""
    sign_in(portal)
    refused = portal.post("/audit-import", {"uuid": bad_uuid}, status=400)
    shown = error_items(refused.text)
    api = portal.post_json(API, new_instance(uuid=bad_uuid, name="imported by the portal", status="2"), status=400)
    assert shown == [(e["location"], e["name"], e["description"]) for e in api.json["errors"]]
    assert ("body", "uuid") in [(location, name) for location, name, _ in shown]
    assert query("SELECT count(*) FROM portal_audit")[0][0] == 0
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0
    assert portal.get(API).json["data"] == []


def test_settings_come_from_the_hosts_ini(portal):
    sign_in(portal)
    parameters = portal.get("/registry/api/openapi.json").json["paths"][API.rstrip("/")]["get"]["parameters"]
    assert next(p for p in parameters if p["name"] == "limit")["schema"]["maximum"] == 100
    assert_envelope(portal.get(API + "?limit=101", status=400), 400, error_names=["limit"])
    portal.get(API + "?limit=100", status=200)


def test_our_policy_setting_beside_the_hosts_policy_serves_our_routes_only(database_url, clean_db):
    """Combined on purpose: the token policy for the registry's URLs, the
    host's session for the host's pages; neither replaces the other."""
    portal = portal_app(
        database_url, **{"lambda_registry.auth": "static", "lambda_registry.static_tokens": STATIC_TOKENS}
    )
    sign_in(portal, "bob")
    # The host's session does not open our routes any more ...
    assert_envelope(portal.get(API, status=401), 401)
    # ... a token does, and it decides the owner ...
    portal.post_json(API, new_instance(), headers=ALICE, status=202)
    assert [r["uuid"] for r in portal.get(API, headers=ALICE).json["data"]] == [UUID]
    # ... and the host's pages still know bob by his session.
    assert "Lambda instances of bob" in portal.get("/", status=200).text


def test_token_in_host_session_mode_is_not_a_login(portal):
    # Without lambda_registry.auth the host decides: a registry token means nothing to it.
    assert_envelope(portal.get(API, headers={"Authorization": f"Token {ALICE_TOKEN}"}, status=401), 401)


@pytest.fixture
def portal_own_session(database_url, clean_db):
    """The portal with the registry on its own session, joined to the host's request.tm."""
    app = portal_app(database_url, **{"lambda_registry.dbsession": ""})
    clear_portal_tables(clean_db)
    return app


def test_on_its_own_session_a_failing_host_view_still_leaves_nothing(portal_own_session, query):
    sign_in(portal_own_session)
    portal_own_session.post("/audit-import", {"uuid": UUID, "fail": "1"}, status=500)
    assert query("SELECT count(*) FROM portal_audit")[0][0] == 0
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0


def test_on_its_own_session_both_writes_commit_on_postgresql(portal_own_session, database_url, query):
    if not database_url.startswith("postgresql"):
        pytest.skip("two connections writing in one request: SQLite allows one writer, share the session there")
    sign_in(portal_own_session)
    portal_own_session.post("/audit-import", {"uuid": UUID}, status=200)
    assert query("SELECT count(*) FROM portal_audit")[0][0] == 1
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 1
