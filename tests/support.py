"""What the tests share besides fixtures: tokens and users, building apps,
the envelope assertion, a real server, one HTTP client, a fake clock."""

import contextlib
import http.client
import json
import logging
import os
import pathlib
import socket
import threading
import time

from pyramid.paster import get_appsettings
import sqlalchemy
import waitress.server

import lambda_registry
from lambda_registry import get_components

ROOT = pathlib.Path(__file__).resolve().parent.parent

ALICE_TOKEN = "test-token-alice"
BOB_TOKEN = "test-token-bob"
STATIC_TOKENS = f"\n{ALICE_TOKEN} alice\n{BOB_TOKEN} bob"

# Users of the fake ~okeanos identity service.
CAROL_TOKEN = "okeanos-token-carol-6f1d"
DAVE_TOKEN = "okeanos-token-dave-93ab"
IDENTITY_TIMEOUT = 1.0
IDENTITY_UNAVAILABLE = "The ~okeanos identity service is unavailable."

UUID = "24b8a635-8d71-4016-b8f5-c4a14348ed8f"
OTHER_UUID = "0c4a5b5e-9d9b-4d6e-8f3b-2f0c7c3c9a11"

# Every token any test sends (the okeanos tests register theirs here too):
# none may ever reach a log (see conftest).
SECRET_TOKENS = {ALICE_TOKEN, BOB_TOKEN, CAROL_TOKEN, DAVE_TOKEN}


# -- apps -------------------------------------------------------------------

def settings_for(database_url, **overrides):
    """development.ini's settings on ``database_url``, with the test tokens."""
    settings = get_appsettings(str(ROOT / "development.ini"))
    settings.update({"sqlalchemy.url": database_url, "lambda_registry.static_tokens": STATIC_TOKENS})
    settings.update(overrides)
    return settings


def build_app(database_url, **overrides):
    """The standalone app (``main``) of ``settings_for(database_url, **overrides)``."""
    return lambda_registry.main({}, **settings_for(database_url, **overrides))


def dispose(app):
    """Close an app's database connections (and a host portal's own)."""
    get_components(app.registry).database.dispose()
    engine = getattr(app.registry, "portal_engine", None)
    if engine is not None:
        engine.dispose()


def okeanos_settings(identity_url, **overrides):
    """Overrides for the okeanos policy, asking the identity service at ``identity_url``."""
    settings = {
        "lambda_registry.auth": "okeanos",
        "lambda_registry.okeanos.identity_url": identity_url,
        "lambda_registry.okeanos.timeout": str(IDENTITY_TIMEOUT),
    }
    settings.update(overrides)
    return settings


class FunctionPolicy:
    """A third party's Pyramid 2 security policy: the identity is ``identify(request)``."""

    def __init__(self, identify):
        self.identify = identify

    def identity(self, request):
        return self.identify(request)

    def authenticated_userid(self, request):
        return self.identity(request)

    def permits(self, request, context, permission):
        return True

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


def wait_for(condition, timeout=30.0, what="the condition"):
    """Poll ``condition()`` until it holds (or fail the test): a wait for an
    event, never a guess of how long something takes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held within {timeout} s"
        time.sleep(0.005)


class FakeClock:
    """A monotonic clock the test moves: ``clock.now += 61``."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


# -- requests and answers ----------------------------------------------------

def token_headers(token):
    return {"Authorization": f"Token {token}"}


ALICE = token_headers(ALICE_TOKEN)
BOB = token_headers(BOB_TOKEN)


def assert_envelope(response, code, description=None, error_names=None):
    """The response is our envelope with ``code``; returns its body.

    ``error_names``, when given, are the ``name`` of every entry of
    ``errors``, in order.
    """
    assert response.status_int == code, response.text
    assert response.content_type == "application/json"
    body = json.loads(response.body)
    assert body["status"]["code"] == code
    if description is not None:
        assert body["status"]["short_description"] == description
    if code >= 400:
        assert "data" not in body
        assert isinstance(body["errors"], list) and body["errors"]
        for entry in body["errors"]:
            assert set(entry) == {"location", "name", "description"}
        if error_names is not None:
            assert [entry["name"] for entry in body["errors"]] == list(error_names)
    else:
        assert "errors" not in body
        assert "data" in body
    return body


INSTANCE_BODY = {"name": "My first Lambda instance", "instance_info": "", "status": "20", "failure_message": "OK"}
APPLICATION_BODY = {"name": "wordcount.jar", "description": "Counts words.\nTakes a file.", "status": "1", "failure_message": ""}


def new_instance(uuid=UUID, **fields):
    """A create body of an instance, the seed document's, with ``fields`` changed."""
    return {"uuid": uuid, **INSTANCE_BODY, **fields}


def new_application(uuid=UUID, **fields):
    """A create body of an application, as a service VM sends it, with ``fields`` changed."""
    return {"uuid": uuid, **APPLICATION_BODY, **fields}


# -- a real server and a real client ------------------------------------------

def ini_server_settings(ini_path):
    """The waitress settings of an ini file's [server:main], without its address."""
    import plaster

    settings = plaster.get_loader(str(ini_path), protocols=["wsgi"]).get_settings("server:main")
    return {name: value for name, value in settings.items() if name not in ("use", "listen", "here", "__file__")}


@contextlib.contextmanager
def served(app, threads=8, **server_settings):
    """``app`` on a real waitress server on a free loopback port: (host, port)."""
    server_settings.setdefault("threads", threads)
    server = waitress.server.create_server(app, host="127.0.0.1", port=0, **server_settings)
    stopping = threading.Event()

    def run():
        try:
            server.run()
        except OSError:
            # Closing the socket under the loop's select() ends it so.
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield server.effective_host, server.effective_port
    finally:
        stopping.set()
        server.close()
        thread.join(timeout=5)


def call(address, method, path, token=None, body=None, headers=(), raw_body=None, timeout=30):
    """One HTTP request on a new connection: (status, headers, parsed JSON body or None).

    ``body`` is sent as JSON with its Content-Type; ``raw_body`` as is (bytes,
    or an iterable of chunks, sent chunked); ``headers`` are (name, value)
    pairs sent exactly so, in this order, after the token's.
    """
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    headers = list(headers)
    if token is not None:
        headers.insert(0, ("Authorization", f"Token {token}"))
    if body is not None:
        raw_body = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    try:
        if raw_body is not None and not isinstance(raw_body, bytes):
            connection.request(method, path, body=raw_body, headers=dict(headers), encode_chunked=True)
        else:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if raw_body is not None:
                connection.putheader("Content-Length", str(len(raw_body)))
            connection.endheaders(raw_body)
        response = connection.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), json.loads(payload) if payload else None
    finally:
        connection.close()


def free_port():
    """A loopback port nobody listens on (for servers to start, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TokenLeakHandler(logging.Handler):
    """Formats every record (traceback included) and notes those holding a token."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.leaks = []
        self.records = 0

    def emit(self, record):
        self.records += 1
        try:
            text = self.format(record)
        except Exception:
            text = repr(record.__dict__)
        if any(token in text for token in SECRET_TOKENS):
            self.leaks.append(record.name)


@contextlib.contextmanager
def scratch_database(database_url, folder):
    """The URL of an empty database of the same kind as ``database_url``: a
    SQLite file in ``folder``, or a new PostgreSQL database on the same
    server (dropped afterwards, whatever is still connected)."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{folder / 'scratch.sqlite'}"
        return
    server = sqlalchemy.make_url(database_url)
    name = f"lr_scratch_{os.getpid()}"
    admin = sqlalchemy.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        with admin.connect() as connection:
            connection.execute(drop)
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(drop)
        admin.dispose()
