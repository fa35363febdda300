"""One engine per application: its URL, its driver and its timeouts."""

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url

# Execution option naming a connection that will write: on SQLite its
# transaction starts with BEGIN IMMEDIATE, so that a read followed by a write
# never fails on a lock taken by another writer in between.
WRITES = "lambda_registry_writes"


def normalise_url(url):
    """Prefer psycopg 3, the driver we install, when the URL names no driver."""
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite_file(engine):
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def _prepare_sqlite(engine, busy_timeout_ms):
    # SQLAlchemy's documented recipe for SQLite transactions: the driver
    # starts none itself, the "begin" event does.
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

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITES) else "BEGIN")


def get_engine(database_url, db_timeout=5.0):
    url = normalise_url(database_url)
    options = {"pool_pre_ping": True}
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
