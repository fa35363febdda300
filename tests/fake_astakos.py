"""A fake ~okeanos identity service (Synnefo Astakos) on a real loopback socket.

It answers ``POST <base>/tokens`` as Astakos does: 200 with the ``access``
document for a known token, 401 ``unauthorized`` for an unknown or expired
one, 200 without ``user`` for an empty token, 400 ``badRequest`` for a
malformed body, 405 for other methods. Switches make it slow, fail with a
5xx, answer garbage or drop the connection, or hold every answer until the
test opens a gate; it counts the calls per token and how many were in
flight at once.

Run it alone for local trials (``--delay 0.2`` makes it slow; GET
``/fake-astakos/stats`` says how many calls it had and how many at once):
    python -m tests.fake_astakos --port 8100 --token my-token=my-user-id
    LAMBDA_REGISTRY_IDENTITY_URL=http://127.0.0.1:8100/identity/v2.0 pserve production.ini
"""

import argparse
import collections
import datetime
import http.server
import json
import socket
import threading
import time

BASE_PATH = "/identity/v2.0"
STATS_PATH = "/fake-astakos/stats"


def _iso(moment):
    return moment.isoformat()


class FakeAstakos:
    def __init__(self, host="127.0.0.1", port=0):
        self.users = {}  # token -> (user id, expires datetime, message if refused)
        self.calls = collections.Counter()
        self.delay = 0.0
        self.fail_status = None
        self.garbage = False
        self.drop = False
        self.drip = 0.0  # seconds between the bytes of a (valid) answer
        self.raw = None  # bytes: the body of every 200 answer, as is
        self.gate = threading.Event()  # answers wait while it is closed
        self.gate.set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        handler = self._handler_class()
        self.server = http.server.ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- set-up --------------------------------------------------------------
    def add_user(self, token, user_id, expires_in=86400.0, refused=None):
        """``refused``: answer 401 with this message ("User inactive", ...)."""
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
        self.users[token] = (user_id, expires, refused)

    def reset(self):
        self.calls.clear()
        self.delay = 0.0
        self.fail_status = None
        self.garbage = False
        self.drop = False
        self.drip = 0.0
        self.raw = None
        self.gate.set()
        self.in_flight = self.max_in_flight = 0

    def wait_for_in_flight(self, count, timeout=30.0):
        """Block until ``count`` calls are held at the gate (or fail the test: a
        generous bound, as a busy CI machine may take seconds to get there)."""
        from .support import wait_for

        wait_for(lambda: self.in_flight >= count, timeout, f"{count} identity calls in flight")

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{BASE_PATH}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -- answers -------------------------------------------------------------
    def answer(self, token):
        """(status, document) for a token, as Astakos gives them."""
        if token == "":
            # Astakos answers an empty token with 200 and no user.
            return 200, {"access": {"token": {"id": "", "expires": None}, "serviceCatalog": []}}
        known = self.users.get(token)
        if known is None:
            return 401, {"unauthorized": {"code": 401, "message": "Invalid token", "details": ""}}
        user_id, expires, refused = known
        if refused:
            return 401, {"unauthorized": {"code": 401, "message": refused, "details": ""}}
        if expires <= datetime.datetime.now(datetime.timezone.utc):
            return 401, {"unauthorized": {"code": 401, "message": "Authentication expired", "details": ""}}
        return 200, {
            "access": {
                "token": {
                    "id": token,
                    "expires": _iso(expires),
                    "tenant": {"id": user_id, "name": f"{user_id}@example.org"},
                },
                "user": {
                    "id": user_id,
                    "name": f"{user_id}@example.org",
                    "roles": [{"id": 1, "name": "default"}],
                    "roles_links": [],
                    "projects": [user_id],
                },
                "serviceCatalog": [
                    {
                        "type": "identity",
                        "name": "astakos_identity",
                        "SNF:uiURL": "https://accounts.okeanos.grnet.gr/ui",
                        "endpoints_links": [],
                        "endpoints": [{"versionId": "v2.0", "publicURL": self.url}],
                    }
                ],
            }
        }

    def _handler_class(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: nothing of a request is printed
                pass

            def _send(self, status, document=None, raw=None):
                payload = raw if raw is not None else json.dumps(document).encode()
                if fake.drip:
                    head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                    for byte in head + payload:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(fake.drip)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                if self.path == STATS_PATH:  # not Astakos': for a load test in another process
                    with fake._lock:
                        stats = {"calls": sum(fake.calls.values()), "max_in_flight": fake.max_in_flight}
                    self._send(200, stats)
                    return
                self._send(405, {"notAllowed": {"code": 405, "message": "Method not allowed", "details": ""}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != BASE_PATH + "/tokens":
                    self._send(404, {"itemNotFound": {"code": 404, "message": "Not found", "details": ""}})
                    return
                try:
                    token = json.loads(raw)["auth"]["token"]["id"]
                    if not isinstance(token, str):
                        raise TypeError
                except (ValueError, KeyError, TypeError):
                    self._send(400, {"badRequest": {"code": 400, "message": "Malformed request", "details": ""}})
                    return
                with fake._lock:
                    fake.calls[token] += 1
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    fake.gate.wait(30)
                    if fake.delay:
                        time.sleep(fake.delay)
                    self._answer(token)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

            def _answer(self, token):
                if fake.drop:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fake.fail_status:
                    self._send(fake.fail_status, raw=b"<html>Service Unavailable</html>")
                    return
                if fake.garbage:
                    self._send(200, raw=b"{this is not json")
                    return
                if fake.raw is not None:
                    self._send(200, raw=fake.raw)
                    return
                self._send(*fake.answer(token))

        return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN=USER_ID")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    fake = FakeAstakos(args.host, args.port)
    fake.delay = args.delay
    for pair in args.token:
        token, _, user = pair.partition("=")
        fake.add_user(token, user or "user-" + str(len(fake.users) + 1))
    print(f"fake Astakos at {fake.url} with {len(fake.users)} token(s)", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
