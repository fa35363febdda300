"""Which database errors mean "unavailable now" (a 503) and which are worth
running the write again (deadlocks, serialization failures)."""

from sqlalchemy import exc as sa_exc


class DatabaseUnavailable(Exception):
    """Our own code could not reach the database in time (a driver error on
    the read path, the SQLite writers' turn not coming)."""


def sqlstate(exc):
    """The SQLSTATE of a database error, when the driver gives one (psycopg does)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) or getattr(exc, "sqlstate", None)


def is_transient(exc):
    """PostgreSQL's class 40 (transaction rollback: serialization failure,
    deadlock): the same transaction run again may well succeed."""
    state = sqlstate(exc)
    return isinstance(state, str) and state.startswith("40")


def is_unavailable(exc):
    """True for errors that mean the database cannot be reached right now."""
    if isinstance(exc, (DatabaseUnavailable, sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        # OperationalError: connection refused, server closing, lock timeouts.
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    return False
