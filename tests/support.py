"""Helpers the tests share: the envelope assertion and request headers."""

import contextlib
import http.client
import json
import logging
import socket
import threading

import waitress.server

ALICE_TOKEN = "test-token-alice"
BOB_TOKEN = "test-token-bob"
STATIC_TOKENS = f"\n{ALICE_TOKEN} alice\n{BOB_TOKEN} bob"

UUID = "24b8a635-8d71-4016-b8f5-c4a14348ed8f"
OTHER_UUID = "0c4a5b5e-9d9b-4d6e-8f3b-2f0c7c3c9a11"


# Users of the fake ~okeanos identity service.
CAROL_TOKEN = "okeanos-token-carol-6f1d"
DAVE_TOKEN = "okeanos-token-dave-93ab"
IDENTITY_TIMEOUT = 1.0
IDENTITY_UNAVAILABLE = "The ~okeanos identity service is unavailable."

# Every token any test sends (the okeanos tests register theirs here too):
# none may ever reach a log (see conftest).
SECRET_TOKENS = {ALICE_TOKEN, BOB_TOKEN, CAROL_TOKEN, DAVE_TOKEN}


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


def new_instance(uuid=UUID, **fields):
    body = {
        "uuid": uuid,
        "name": "My first Lambda instance",
        "instance_info": "",
        "status": "20",
        "failure_message": "OK",
    }
    body.update(fields)
    return body


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
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_host, server.effective_port
    finally:
        server.close()
        thread.join(timeout=5)


def call(address, method, path, token=None, body=None, timeout=30):
    """One HTTP request on a new connection: (status, headers, parsed JSON body)."""
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Token {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


def free_port():
    """A loopback port nobody listens on (for servers to start, or to be refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
