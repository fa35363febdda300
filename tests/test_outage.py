"""Database outages: a private PostgreSQL server that the test stops and
starts again, and a server that accepts connections but never answers."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import webtest

from lambda_registry.storage.migrate import upgrade

from .support import ALICE, UUID, assert_envelope, build_app, free_port, new_application, new_instance

DB_TIMEOUT = 2.0
UNAVAILABLE = "The database is unavailable."


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a spare port (initdb + pg_ctl)."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        found = binaries[-1] if binaries else shutil.which("pg_ctl")
        if not found:
            pytest.skip("PostgreSQL server binaries (pg_ctl, initdb) are not installed")
        self.bin = os.path.dirname(found)
        self.port = free_port()
        self.folder = tempfile.mkdtemp(prefix="lambda-registry-pg-")
        self.data = os.path.join(self.folder, "data")
        # PostgreSQL refuses to run as root: run it as the postgres user then.
        self.prefix = []
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.folder, postgres.pw_uid, postgres.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program, *args):
        subprocess.run(self.prefix + [os.path.join(self.bin, program), *args], check=True, capture_output=True, timeout=120)

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.folder, "log"), "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def remove(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


def timed(function):
    started = time.monotonic()
    result = function()
    return result, time.monotonic() - started


def test_outage_is_a_prompt_503_and_the_service_recovers_by_itself(private_postgres):
    upgrade(private_postgres.url)
    app = webtest.TestApp(
        build_app(private_postgres.url, **{"lambda_registry.db_timeout": str(DB_TIMEOUT)})
    )
    app.post_json("/api/lambda_instances/", new_instance(), headers=ALICE, status=202)

    private_postgres.stop()
    requests = [
        lambda: app.post_json("/api/lambda_instances/", new_instance(uuid=UUID.replace("24", "42")), headers=ALICE, status="*"),
        lambda: app.post_json(f"/api/lambda_instances/{UUID}/status/", {"status": "0"}, headers=ALICE, status="*"),
        lambda: app.get("/api/lambda_instances/", headers=ALICE, status="*"),
        lambda: app.get("/api/lambda_instances/count", status="*"),
        lambda: app.get("/__heartbeat__", status="*"),
    ]
    for request in requests:
        response, elapsed = timed(request)
        assert_envelope(response, 503, UNAVAILABLE)
        assert elapsed < DB_TIMEOUT + 1
    assert_envelope(app.get("/__lbheartbeat__"), 200)

    private_postgres.start()
    restarted = time.monotonic()
    # The pool's pre-ping drops the dead connections: the very first request works.
    app.post_json(f"/api/lambda_instances/{UUID}/status/", {"status": "0"}, headers=ALICE, status=202)
    recovered = time.monotonic() - restarted
    records = app.get("/api/lambda_instances/", headers=ALICE).json["data"]
    # Nothing of what was refused during the outage was stored.
    assert [(record["uuid"], record["status"]) for record in records] == [(UUID, "0")]
    assert app.get("/__heartbeat__").status_int == 200
    print(f"\n[outage] first request after the restart answered 202 in {recovered:.3f} s")


def test_a_database_that_accepts_but_never_answers_is_a_503_within_the_timeout():
    # The kernel completes the TCP handshake for a listening socket nobody
    # accepts from: the client then waits for a server that never speaks.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/postgres"
        app = webtest.TestApp(build_app(url, **{"lambda_registry.db_timeout": "1"}))
        for request in [
            lambda: app.get("/api/lambda_instances/count", status="*"),
            lambda: app.post_json("/api/lambda_instances/", new_instance(), headers=ALICE, status="*"),
        ]:
            response, elapsed = timed(request)
            assert_envelope(response, 503, UNAVAILABLE)
            assert elapsed < 1 + 1.5


def test_an_outage_during_a_wait_is_a_503_and_the_listener_comes_back(private_postgres):
    """SPEC.md "Changes": a waiting request answers 503 like any other when
    the database goes, and waits work again once it is back, without a restart."""
    import threading

    from lambda_registry import get_components

    from .support import wait_for

    upgrade(private_postgres.url)
    app = webtest.TestApp(build_app(private_postgres.url, **{"lambda_registry.db_timeout": str(DB_TIMEOUT)}))
    components = get_components(app.app.registry)

    def listening():
        return components.database.listen(components.waiters.changed, components.waiters.wake_all)

    def waiting(answers, cursor):
        answers.append(app.get("/api/lambda_applications/changes", params={"since": cursor, "wait": "30"},
                               headers=ALICE, status="*"))

    cursor = app.get("/api/lambda_applications/changes", headers=ALICE).json["changes"]["cursor"]
    wait_for(listening, what="the listener connected")
    answers = []
    waiter = threading.Thread(target=waiting, args=(answers, cursor))
    waiter.start()
    wait_for(components.waiters.waiting, what="the request waiting")
    private_postgres.stop()
    waiter.join(25)
    assert_envelope(answers[0], 503, UNAVAILABLE)

    private_postgres.start()
    wait_for(listening, what="the listener back")
    answers = []
    waiter = threading.Thread(target=waiting, args=(answers, cursor))
    waiter.start()
    wait_for(components.waiters.waiting, what="the request waiting")
    app.post_json("/api/lambda_applications/", new_application(uuid=UUID), headers=ALICE, status=202)
    waiter.join(25)
    assert [entry["uuid"] for entry in answers[0].json["data"]] == [UUID]
