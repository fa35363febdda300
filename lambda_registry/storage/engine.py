"""One engine per application: its URL, its driver, its pool and its timeouts.

The pool keeps ``pool_size`` connections (``lambda_registry.pool_size``):
at least the server's threads, or requests beyond it open and close a
connection each (a new PostgreSQL session, a fork on the server). Up to
``max_overflow`` more are opened for a burst and closed when returned.
"""

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

def normalise_url(url):
    """Prefer psycopg 3, the driver we install, when the URL names no driver."""
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite_file(engine):
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def _prepare_sqlite(engine, busy_timeout_ms):
    # The driver starts no transaction itself: we do (storage/database.py's
    # writers; alembic/env.py for migrations).
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if is_sqlite_file(engine):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()


def get_engine(database_url, db_timeout=5.0, pool_size=8, max_overflow=8):
    url = normalise_url(database_url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow}
    if url.get_backend_name() == "sqlite":
        # A file, not a server: nothing to ping before each use. (":memory:"
        # keeps SQLAlchemy's own pool: one database per connection.)
        options = pool if url.database not in (None, "", ":memory:") else {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": db_timeout}, **options)
        _prepare_sqlite(engine, db_timeout * 1000)
        return engine
    # A server restarted under us: the pool pings a connection before use,
    # so that the first request after a restart finds a live one.
    options = {"pool_pre_ping": True, **pool}
    if url.get_backend_name() == "postgresql":
        milliseconds = int(db_timeout * 1000)
        options["connect_args"] = {
            "connect_timeout": max(1, int(round(db_timeout))),
            # A row lock held elsewhere (a stuck writer) or a runaway query
            # ends in an error, hence a 503, instead of a request that hangs.
            "options": f"-c lock_timeout={milliseconds} -c statement_timeout={4 * milliseconds}",
        }
        options["pool_timeout"] = db_timeout
        engine = create_engine(url, **options)
        # Reads switch a connection to autocommit (storage/database.py): whatever
        # happens to the read, the pool gives it back in transaction mode.
        event.listen(engine, "checkin", _end_autocommit)
        return engine
    return create_engine(url, **options)


def _end_autocommit(dbapi_connection, connection_record):
    if dbapi_connection is not None and dbapi_connection.autocommit:
        dbapi_connection.autocommit = False
