"""A pool that fits the server: under a steady load of as many concurrent
requests as the server has threads, PostgreSQL sees no new session.

PostgreSQL's own count (``pg_stat_database.sessions``) is read for a
database of the test's own, so that no other connection counts. A
session's statistics reach that view when it ends, so the count is taken
after the app's connections are closed. Every session the app opened must
then have been one of its pool's at the end of the load (alive in
``pg_stat_activity`` then): none was opened for a request and closed
again. A pool smaller than the server's threads shows such sessions,
which says the count would see them.
"""

import concurrent.futures
import time

import pytest
from sqlalchemy import create_engine, make_url, text

from lambda_registry.storage.migrate import upgrade

from .conftest import PG_URL
from .support import ALICE_TOKEN, build_app, call, dispose, new_instance, scratch_database, served, wait_for

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs LAMBDA_REGISTRY_TEST_DATABASE_URL (PostgreSQL)")

THREADS = 8


@pytest.fixture
def database(tmp_path):
    with scratch_database(PG_URL, tmp_path) as url:
        upgrade(url)
        name = make_url(url).database
        admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")

        def stat(sql):
            with admin.connect() as connection:
                return connection.execute(text(sql), {"name": name}).scalar_one()

        yield url, stat
        admin.dispose()


def alive(stat):
    return stat("SELECT count(*) FROM pg_stat_activity WHERE datname = :name")


def notifiers(stat):
    """The application's notifier connection (storage/listener.py): one per
    application, opened by its first write, not one of the pool's."""
    return stat("SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND query LIKE 'SELECT pg_notify(%'")


def ended_sessions(stat):
    """Sessions counted so far, once none is left connected."""
    deadline = time.monotonic() + 10
    while alive(stat) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive(stat) == 0
    # A session reports its statistics as it exits: wait until the count holds.
    sessions = lambda: stat("SELECT sessions FROM pg_stat_database WHERE datname = :name")  # noqa: E731
    counted, previous = sessions(), None
    while counted != previous:
        time.sleep(0.3)
        counted, previous = sessions(), counted
    return counted


def burst(address, paths, rounds):
    def client(_):
        return [call(address, "GET", path, ALICE_TOKEN)[0] for path in paths for _ in range(rounds)]

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        return [status for statuses in pool.map(client, range(THREADS)) for status in statuses]


def sessions_opened_and_closed_under_load(url, stat, **settings):
    """(sessions opened and closed again during the load, sessions in the pool at its end)
    (the notifier's own session is counted apart: it stays open, it is no pool's)"""
    before = ended_sessions(stat)
    app = build_app(url, **settings)
    try:
        with served(app, threads=THREADS) as address:
            assert call(address, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance())[0] == 202
            wait_for(lambda: notifiers(stat) == 1, what="the notifier's session, opened by that first write")
            paths = ["/api/lambda_instances/", "/api/lambda_instances/count", "/api/users/count"]
            assert set(burst(address, paths, 15)) == {200}
            living, notifier = alive(stat), notifiers(stat)
    finally:
        dispose(app)
    assert notifier == 1
    return ended_sessions(stat) - before - living, living - notifier


def test_a_steady_load_opens_no_new_session(database):
    churned, pooled = sessions_opened_and_closed_under_load(*database, **{"lambda_registry.pool_size": str(THREADS)})
    assert churned == 0
    assert 1 <= pooled <= THREADS


def test_a_pool_smaller_than_the_server_opens_sessions_under_the_same_load(database):
    churned, pooled = sessions_opened_and_closed_under_load(
        *database, **{"lambda_registry.pool_size": "1", "lambda_registry.pool_overflow": "8"})
    assert churned > 0
