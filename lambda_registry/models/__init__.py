"""Storage: one engine per application, a session per request joined to its transaction."""

import logging

from pyramid_retry import IBeforeRetry
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from ..settings import get_settings
from .instance import LambdaInstance, OwnerStatusCount, StatusChange, StatusCount, utcnow  # noqa: F401
from .meta import Base  # noqa: F401
from .transactions import TRANSACTION_MANAGER, register_once

# Execution option naming a session that will write: on SQLite its
# transaction starts with BEGIN IMMEDIATE, so that a read followed by a write
# never fails on a lock taken by another writer in between.
WRITES = "lambda_registry_writes"
WRITE_METHODS = frozenset(["POST", "PUT", "PATCH", "DELETE"])

log = logging.getLogger(__name__)


def normalise_url(url):
    """Prefer psycopg 3, the driver we install, when the URL names no driver."""
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _prepare_sqlite(engine, busy_timeout_ms):
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy's "begin" below start transactions, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get(WRITES):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def get_engine(database_url, db_timeout=5.0):
    url = normalise_url(database_url)
    options = {"pool_pre_ping": True, "future": True}
    if url.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": db_timeout}
        engine = create_engine(url, **options)
        _prepare_sqlite(engine, db_timeout * 1000)
        return engine
    if url.get_backend_name() == "postgresql":
        milliseconds = int(db_timeout * 1000)
        options["connect_args"] = {
            "connect_timeout": max(1, int(round(db_timeout))),
            # A row lock held elsewhere (a stuck writer) or a runaway query
            # ends in an error, hence a 503, instead of a request that hangs.
            "options": f"-c lock_timeout={milliseconds} -c statement_timeout={4 * milliseconds}",
        }
        options["pool_timeout"] = db_timeout
    return create_engine(url, **options)


def get_session_factory(engine):
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    register_once(factory)
    # The same engine and pool, its connections marked for writing (made
    # once: each execution_options() call makes another engine object).
    factory.writing_bind = engine.execution_options(**{WRITES: True})
    return factory


def get_tm_session(session_factory, transaction_manager, writes=False, request=None):
    """A session whose commit and rollback follow ``transaction_manager``."""
    bind = session_factory.writing_bind if writes else session_factory.kw["bind"]
    dbsession = session_factory(bind=bind, info={TRANSACTION_MANAGER: transaction_manager})
    if request is not None:
        request.add_finished_callback(lambda request: dbsession.close())
    return dbsession


def _request_dbsession(request):
    factory = request.registry.lambda_registry_dbsession_factory
    return get_tm_session(
        factory, request.tm, writes=request.method in WRITE_METHODS, request=request
    )


def _host_dbsession(name):
    def host_dbsession(request):
        # The host's session is already joined to request.tm: our writes and
        # the host's are then one database transaction.
        return getattr(request, name)

    return host_dbsession


def retry_attempts(request):
    """pyramid_retry's activate hook: only writes can deadlock, so only they
    are attempted again; a read then skips the copy of its body that a retry
    would need (None: the configured ``retry.attempts``)."""
    return None if request.method in WRITE_METHODS else 1


def log_retry(event):
    # PostgreSQL's class 40 errors (serialization failure, deadlock), judged
    # transient by zope.sqlalchemy and tagged so in responses.py: pyramid_retry
    # runs the request again on a fresh transaction, and our 503 answers when
    # the attempts run out.
    log.info("retrying %s %s after %s", event.request.method, event.request.path, type(event.exception).__name__)


def includeme(config):
    settings = get_settings(config.registry)
    # pyramid_tm gives request.tm: the host's transaction manager when we are
    # included in a host that has one, so that its writes and ours commit
    # or abort together.
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.add_subscriber(log_retry, IBeforeRetry)
    if settings.dbsession is not None:
        config.add_request_method(
            _host_dbsession(settings.dbsession), "lambda_registry_dbsession", reify=True
        )
        return
    engine = get_engine(settings.database_url, settings.db_timeout)
    config.registry.lambda_registry_dbsession_factory = get_session_factory(engine)
    config.add_request_method(_request_dbsession, "lambda_registry_dbsession", reify=True)
