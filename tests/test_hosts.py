"""Embedded, the registry leaves its host alone: nothing of ours applies to
a host URL, and our URLs keep our rules. Proven against the example portal
and the minimal host (tests/minimal_host.py); that every contract of our
URLs holds embedded is proven by the contract modules themselves, which
run against both the standalone app and the minimal host (APP_MODES)."""

import json

from pyramid.paster import get_appsettings
import pytest
import transaction
import webtest

import lambda_portal

from .minimal_host import make_host
from .support import ALICE, ALICE_TOKEN, ROOT, UUID, assert_envelope, dispose, new_instance, settings_for

PREFIX = "/registry"


@pytest.fixture
def minimal(database_url, clean_db):
    app = make_host(settings_for(database_url), route_prefix=PREFIX)
    yield app
    dispose(app)


@pytest.fixture
def portal(database_url, clean_db):
    settings = get_appsettings(str(ROOT / "examples" / "portal" / "development.ini"))
    settings["sqlalchemy.url"] = database_url
    app = lambda_portal.main({}, **settings)
    yield app
    dispose(app)


@pytest.fixture(params=["minimal host", "example portal"])
def host(request, database_url):
    return request.getfixturevalue("minimal" if request.param == "minimal host" else "portal")


def test_a_host_view_raising_a_retryable_error_runs_exactly_once(minimal):
    webtest.TestApp(minimal).get("/host/flaky", status=500)
    assert minimal.runs["flaky"] == 1


class CountingInput:
    """A request body that says how often, and how much of it, was read."""

    def __init__(self, data):
        self.data, self.reads = data, 0

    def read(self, size=-1):
        self.reads += 1
        chunk, self.data = (self.data, b"") if size is None or size < 0 else (self.data[:size], self.data[size:])
        return chunk

    def readline(self, size=-1):
        return self.read(size)


def environ(path, body_input, length, **extra):
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(length), "wsgi.input": body_input, **extra,
    }


def call_wsgi(app, environ):
    answered = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answered.append(status)))
    return int(answered[0][:3]), body


def test_a_host_post_body_reaches_the_host_view_untouched(minimal):
    body = CountingInput(b"user=alice&password=secret")
    status, answer = call_wsgi(minimal, environ("/host/receive", body, 26, CONTENT_TYPE="application/x-www-form-urlencoded"))
    assert (status, b"received 26 bytes" in answer) == (200, True)
    # The very stream the server gave: nobody copied it for a retry.
    assert minimal.inputs == [body]


def test_the_portals_login_body_is_not_copied(portal):
    body = CountingInput(b"user=alice&password=alice-password")
    status, _ = call_wsgi(portal, environ("/login", body, 34, CONTENT_TYPE="application/x-www-form-urlencoded"))
    assert status == 303 and body.reads >= 1 and body.data == b""


class UnreadableInput:
    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("path", [PREFIX + "/api/lambda_instances/", PREFIX + "/api/lambda_instances/x/status/"])
def test_a_100_gb_body_declared_to_our_url_is_refused_unread(host, path):
    request = environ(path, UnreadableInput(), 100 * 1024 ** 3, CONTENT_TYPE="application/json",
                      HTTP_AUTHORIZATION=f"Token {ALICE_TOKEN}")
    status, answer = call_wsgi(host, request)
    assert status == 413 and json.loads(answer)["status"]["code"] == 413


def test_host_404_and_500_pages_are_the_hosts(minimal):
    app = webtest.TestApp(minimal)
    for path in ["/nothing", "/api/lambda_instances/", "/registryx/api/lambda_instances/"]:
        page = app.get(path, status=404)
        assert page.content_type == "text/html" and "host: no such page" in page.text
    failed = app.get("/host/boom", status=500)
    assert failed.content_type == "text/html" and "host: something went wrong" in failed.text
    assert "X-Content-Type-Options" not in failed.headers


def test_our_urls_under_the_prefix_are_ours(minimal):
    app = webtest.TestApp(minimal)
    assert_envelope(app.get(PREFIX + "/api/nothing", status=404), 404, "Not found.")
    assert_envelope(app.get(PREFIX + "/api/lambda_instances/", status=401), 401)
    app.post_json(PREFIX + "/api/lambda_instances/", new_instance(), headers=ALICE, status=202)
    assert app.get(PREFIX + "/api/lambda_instances/count").json["data"]["created"] == "1"


class RecordingManager(transaction.TransactionManager):
    """The host's transaction manager, noting every resource that joins it."""

    def __init__(self):
        super().__init__(explicit=True)
        self.joined = []

    def begin(self):
        txn = super().begin()
        join = txn.join
        txn.join = lambda resource: (self.joined.append(type(resource).__name__), join(resource))
        return txn


def test_reads_never_join_the_hosts_transaction_writes_do(database_url, clean_db):
    managers = []

    def recording_manager(request):
        managers.append(RecordingManager())
        return managers[-1]

    host = make_host(settings_for(database_url, **{"tm.manager_hook": recording_manager}), PREFIX)
    app = webtest.TestApp(host)
    app.post_json(PREFIX + "/api/lambda_instances/", new_instance(), headers=ALICE, status=202)
    assert managers[-1].joined == ["ConnectionDataManager"]
    for path in ["/api/lambda_instances/count", "/api/lambda_instances/", "/api/lambda_instances/" + UUID, "/__heartbeat__"]:
        app.get(PREFIX + path, headers=ALICE, status=200)
        assert managers[-1].joined == [], path
    dispose(host)
