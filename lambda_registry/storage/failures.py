"""Which database errors mean "unavailable now" (a 503) and which are worth
running the write again (deadlocks, serialization failures).

The executor (``database.py``) talks to the driver directly, so driver
errors reach it unwrapped; it translates them here, at one boundary:
``DatabaseUnavailable`` for what a client should retry later, the driver's
own error (with its SQLSTATE) for a transient one that our retries handle,
and anything else as it is (a fault of ours: a 500).
"""

from sqlalchemy import exc as sa_exc


class DatabaseUnavailable(Exception):
    """The database could not be reached, or not in time: a 503."""


def sqlstate(exc):
    """The SQLSTATE of a database error, when the driver gives one (psycopg does)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)


def is_transient(exc):
    """PostgreSQL's class 40 (transaction rollback: serialization failure,
    deadlock): the same transaction run again may well succeed."""
    state = sqlstate(exc)
    return isinstance(state, str) and state.startswith("40")


def driver_failure(exc, dbapi):
    """What a driver's error means: ``DatabaseUnavailable`` (to raise from
    it) for a lost connection, a refused one, a lock or statement timeout;
    None for anything else (a transient error included: retried as it is)."""
    if is_transient(exc):
        return None
    if isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError)):
        return DatabaseUnavailable(f"{type(exc).__module__}.{type(exc).__name__} (SQLSTATE {sqlstate(exc)})")
    return None


def is_unavailable(exc):
    """True for errors that mean the database cannot serve us right now
    (a transient error too, once our retries have run out)."""
    if isinstance(exc, (DatabaseUnavailable, sa_exc.DisconnectionError, sa_exc.TimeoutError)) or is_transient(exc):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        # A host's session (SQLAlchemy wraps its driver's errors).
        if exc.connection_invalidated:
            return True
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    return False
