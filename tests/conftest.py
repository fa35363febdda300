"""Fixtures: the app built from development.ini, on SQLite and (when
LAMBDA_REGISTRY_TEST_DATABASE_URL is set) PostgreSQL, through WebTest.

Requests go through the whole commit path: what is committed, and what an
error leaves uncommitted, is part of the contract under test. Each test
starts from empty tables. Helpers that are not fixtures live in support.py.
"""

import logging
import os

import pytest
from sqlalchemy import text
import webtest

from lambda_registry import get_components
from lambda_registry.counts import Counts
from lambda_registry.storage.database import Database, Writer
from lambda_registry.storage.engine import get_engine
from lambda_registry.storage.tables import metadata
from lambda_registry.storage.migrate import upgrade
from lambda_registry.model.kinds import KINDS

from .fake_astakos import FakeAstakos
from .minimal_host import make_host
from .support import (
    ALICE,
    BOB,
    CAROL_TOKEN,
    DAVE_TOKEN,
    TokenLeakHandler,
    build_app,
    dispose,
    okeanos_settings,
    settings_for,
)

# The production override would point every test app at another database.
os.environ.pop("LAMBDA_REGISTRY_DATABASE_URL", None)
PG_URL = os.environ.get("LAMBDA_REGISTRY_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "lambda_registry.sqlite"
        return f"sqlite:///{path}"
    return PG_URL


@pytest.fixture(scope="session")
def dbengine(database_url):
    """The schema, built by the Alembic migrations (as the console script does)."""
    upgrade(database_url)
    engine = get_engine(database_url)
    yield engine
    engine.dispose()


def clear_tables(engine):
    """Empty our tables (the example portal's tests empty their own)."""
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def make_app(database_url, clean_db):
    """``make_app(**settings)``: a fresh standalone app on the test database
    (its connections closed after the test: PostgreSQL allows 100)."""
    built = []

    def make(**overrides):
        built.append(build_app(database_url, **overrides))
        return built[-1]

    yield make
    for app in built:
        dispose(app)


@pytest.fixture(scope="session")
def app(dbengine, database_url):
    return build_app(database_url)


@pytest.fixture
def clean_db(dbengine):
    clear_tables(dbengine)
    yield dbengine


@pytest.fixture(scope="session")
def embedded_app(dbengine, database_url):
    """The registry included in the minimal host, at the root, with the same settings."""
    return make_host(settings_for(database_url))


def pytest_generate_tests(metafunc):
    """A module naming ``APP_MODES = ("standalone", "embedded")`` runs each
    of its ``testapp`` tests against both: our URLs must behave the same."""
    if "testapp" in metafunc.fixturenames:
        modes = getattr(metafunc.module, "APP_MODES", ("standalone",))
        metafunc.parametrize("app_mode", modes)


@pytest.fixture
def testapp(app_mode, request, clean_db):
    wsgi = request.getfixturevalue("app" if app_mode == "standalone" else "embedded_app")
    # clean_db emptied the tables behind the app's back.
    get_components(wsgi.registry).forget_cached_state()
    return webtest.TestApp(wsgi)


@pytest.fixture
def database(dbengine):
    return Database(dbengine, db_timeout=5, retry_attempts=1)


@pytest.fixture
def counts(database):
    return Counts(database, cache_seconds=0)


@pytest.fixture
def writer(database, clean_db):
    """The executor of a write transaction on the test database, rolled back at the end."""
    writer = Writer(database)
    yield writer.executor
    writer.close()


@pytest.fixture
def alice():
    return dict(ALICE)


@pytest.fixture
def bob():
    return dict(BOB)


@pytest.fixture
def query(dbengine):
    """Run SQL against the test database and return all rows."""

    def run(sql, **params):
        with dbengine.connect() as connection:
            return connection.execute(text(sql), params).all()

    return run


@pytest.fixture(scope="session")
def astakos():
    fake = FakeAstakos().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(astakos):
    """The fake identity service, reset, knowing carol and dave."""
    astakos.reset()
    astakos.users.clear()
    astakos.add_user(CAROL_TOKEN, "carol-uuid-0001")
    astakos.add_user(DAVE_TOKEN, "dave-uuid-0002")
    return astakos


@pytest.fixture
def make_okeanos_app(make_app, fake):
    """``make_okeanos_app(**settings)``: the app with the okeanos policy, asking the fake."""
    return lambda **overrides: make_app(**okeanos_settings(fake.url, **overrides))


# -- no token in any log line of the whole session ---------------------------
# Every log record of the session, SQL statements with their parameters
# included, goes through this handler; the run fails if one holds a token.
LEAK_HANDLER = TokenLeakHandler()


def pytest_sessionstart(session):
    logging.getLogger().addHandler(LEAK_HANDLER)
    logging.getLogger().setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL and parameters


def pytest_sessionfinish(session, exitstatus):
    logging.getLogger().removeHandler(LEAK_HANDLER)
    if LEAK_HANDLER.leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nA TOKEN REACHED THE LOGS in {len(LEAK_HANDLER.leaks)} record(s) of: "
              f"{sorted(set(LEAK_HANDLER.leaks))}")
    else:
        print(f"\nno token in {LEAK_HANDLER.records} log records of this session")


@pytest.fixture
def counters_agree(query):
    """Assert that every counter equals a count of the records themselves:
    per owner, per status, and the summed fields' totals, for every kind.
    A counter is its folded total plus its changes not folded yet."""

    def check():
        for kind in KINDS:
            sums = "".join(f", sum({name})" for name in kind.summed)
            records = query(f"SELECT owner, status, count(*){sums} FROM {kind.table} GROUP BY owner, status")
            owners = {}
            for owner, status, n in query(
                    f"SELECT owner, status, record_count FROM {kind.owner_counts_table} "
                    f"UNION ALL SELECT owner, status, record_count FROM {kind.count_changes_table}"):
                owners[(owner, status)] = owners.get((owner, status), 0) + n
            assert {key: n for key, n in owners.items() if n} == {(row[0], row[1]): row[2] for row in records}
            summed = "".join(f", {name}" for name in kind.summed)
            public = {}
            for row in query(f"SELECT status, record_count{summed} FROM {kind.status_counts_table} "
                             f"UNION ALL SELECT status, record_count{summed} FROM {kind.count_changes_table}"):
                totals = public.setdefault(row[0], [0] * (1 + len(kind.summed)))
                for position, value in enumerate(row[1:]):
                    totals[position] += value
            by_status = {}
            for row in records:
                totals = by_status.setdefault(row[1], [0] * (1 + len(kind.summed)))
                for position, value in enumerate(row[2:]):
                    totals[position] += value
            assert {status: tuple(totals) for status, totals in public.items() if any(totals)} == {
                status: tuple(totals) for status, totals in by_status.items()}, kind.key

    return check
