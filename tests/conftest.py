"""Fixtures: the app built from development.ini, on SQLite and (when
LAMBDA_REGISTRY_TEST_DATABASE_URL is set) PostgreSQL, through WebTest.

Requests go through the whole pyramid_tm commit path: what is committed, and
what an error leaves uncommitted, is part of the contract under test. Each
test starts from empty tables.
"""

import logging
import os
import pathlib

from pyramid.paster import get_appsettings
import pytest
from sqlalchemy import inspect, text
import transaction
import transaction.interfaces
import webtest

import lambda_registry
from lambda_registry.migrate import upgrade
from lambda_registry.models import get_engine, get_tm_session

from .fake_astakos import FakeAstakos
from .support import ALICE, BOB, CAROL_TOKEN, DAVE_TOKEN, IDENTITY_TIMEOUT, STATIC_TOKENS, TokenLeakHandler

ROOT = pathlib.Path(__file__).resolve().parent.parent
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
    with engine.begin() as connection:
        # The example portal's table, when its tests made it.
        if "portal_audit" in inspect(connection).get_table_names():
            connection.execute(text("DELETE FROM portal_audit"))
        connection.execute(text("DELETE FROM lambda_instance_status_changes"))
        connection.execute(text("DELETE FROM lambda_instances"))
        connection.execute(text("UPDATE lambda_instance_status_counts SET records = 0"))
        connection.execute(text("DELETE FROM lambda_instance_owner_counts"))


def app_settings(database_url, **overrides):
    settings = get_appsettings(str(ROOT / "development.ini"))
    settings.update(
        {
            "sqlalchemy.url": database_url,
            "lambda_registry.static_tokens": STATIC_TOKENS,
        }
    )
    settings.update(overrides)
    return settings


def okeanos_app(database_url, identity_url, **overrides):
    """The app with the okeanos policy, asking the identity service at ``identity_url``."""
    settings = {
        "lambda_registry.auth": "okeanos",
        "lambda_registry.okeanos.identity_url": identity_url,
        "lambda_registry.okeanos.timeout": str(IDENTITY_TIMEOUT),
    }
    settings.update(overrides)
    return lambda_registry.main({}, **app_settings(database_url, **settings))


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


@pytest.fixture(scope="session")
def app(dbengine, database_url):
    return lambda_registry.main({}, **app_settings(database_url))


@pytest.fixture
def clean_db(dbengine):
    clear_tables(dbengine)
    yield dbengine


@pytest.fixture
def tm():
    """A doomed transaction: whatever a test writes through it is rolled back."""
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    manager.doom()
    yield manager
    try:
        manager.abort()
    except transaction.interfaces.NoTransaction:  # the test ended it itself
        pass


@pytest.fixture
def dbsession(app, clean_db, tm):
    """A session of the app's own factory, joined to the doomed ``tm``."""
    return get_tm_session(app.registry.lambda_registry_dbsession_factory, tm, writes=True)


@pytest.fixture
def testapp(app, clean_db):
    # clean_db changed the counters behind the app's back.
    app.registry.lambda_registry_public_counts.invalidate()
    return webtest.TestApp(app)


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
    """Assert that both kinds of counters equal a count of the records themselves."""

    def check():
        records = {(owner, status): n for owner, status, n in query(
            "SELECT owner, status, count(*) FROM lambda_instances GROUP BY owner, status")}
        owners = {(owner, status): n for owner, status, n in query(
            "SELECT owner, status, records FROM lambda_instance_owner_counts WHERE records <> 0")}
        public = {status: n for status, n in query(
            "SELECT status, records FROM lambda_instance_status_counts WHERE records <> 0")}
        by_status = {}
        for (_, status), n in records.items():
            by_status[status] = by_status.get(status, 0) + n
        assert owners == records
        assert public == by_status

    return check
