"""How a request reads and writes our tables.

``Database`` (our own engine):

- **Reads** (``with database.read(request) as db``) run on a pooled DBAPI
  connection (``engine.raw_connection()``) with statements compiled once
  (``statements.Statement``): no ORM session, no transaction manager, and
  the connection goes back to the pool when the block ends. On PostgreSQL
  the connection reads in autocommit, so a read costs no BEGIN and no
  COMMIT round trip.
- **Writes** (``database.write(request, work)``) run ``work(writer)`` on a
  SQLAlchemy Core ``Connection`` (SQL logging and execution events see
  them). When pyramid_tm manages the request, the connection's transaction
  joins ``request.tm`` through ``WriterDataManager``, so a host's writes
  and ours commit or abort together; otherwise it commits before ``write``
  returns. Either way a 202 is only answered once the write is committed.
- **Retries are ours**: a deadlock or serialization failure rolls our
  transaction back and runs every work of it again
  (``lambda_registry.retry_attempts``),
  without touching the host's execution policy or copying request bodies.
- **SQLite writers take turns in-process**: a lock held from ``BEGIN
  IMMEDIATE`` to the end of the transaction, so that our own threads queue
  without SQLite's busy-handler sleeps; other processes still wait on
  ``BEGIN IMMEDIATE`` and the busy timeout.

``HostSessionDatabase`` (``lambda_registry.dbsession``) runs both on the
host's SQLAlchemy session instead: one connection, one transaction, the
host's rules (and no retries of ours).
"""

import contextlib
import logging
import threading

from pyramid_tm import is_tm_active
import transaction.interfaces
from zope.interface import implementer
import zope.sqlalchemy

from .engine import get_engine
from .failures import DatabaseUnavailable, is_transient

log = logging.getLogger(__name__)

WRITER = "lambda_registry.writer"


# -- reads --------------------------------------------------------------------

class Reader:
    """Statements on one pooled DBAPI connection, checked out on first use."""

    def __init__(self, database):
        self._database = database
        self._dialect = database.engine.dialect
        self._connection = None
        self._closed = False

    def _cursor(self):
        if self._closed:
            raise RuntimeError("this reader is closed: read within its with-block")
        if self._connection is None:
            try:
                self._connection = self._database.engine.raw_connection()
            except self._dialect.loaded_dbapi.Error as exc:
                # A checkout that fails raises the driver's own error.
                raise DatabaseUnavailable(f"no connection: {type(exc).__name__}") from exc
            self._database.begin_read(self._connection)
        return self._connection.cursor()

    def rows(self, statement, parameters=None):
        compiled = statement.compiled(self._dialect)
        sql, values = compiled.sql_and_parameters(parameters)
        cursor = self._cursor()
        try:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
        except self._dialect.loaded_dbapi.Error as exc:
            self._failed(exc, cursor)
            raise
        finally:
            cursor.close()
        return compiled.convert(rows)

    def first(self, statement, parameters=None):
        rows = self.rows(statement, parameters)
        return rows[0] if rows else None

    def _failed(self, exc, cursor):
        dbapi = self._dialect.loaded_dbapi
        if self._dialect.is_disconnect(exc, self._connection.dbapi_connection, cursor):
            # A dead connection must not go back to the pool.
            self._connection.invalidate(exc)
        if isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError)):
            raise DatabaseUnavailable(f"{type(exc).__module__}.{type(exc).__name__}") from exc

    def close(self):
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


# -- writes -------------------------------------------------------------------

class Writer:
    """One write transaction on a Core connection, and the works run in it."""

    def __init__(self, database):
        self._database = database
        self._lock = database.write_lock
        if self._lock is not None and not self._lock.acquire(timeout=database.db_timeout):
            raise DatabaseUnavailable("no turn to write within db_timeout")
        self._dialect = database.engine.dialect
        self.dialect_name = self._dialect.name
        try:
            self.connection = database.engine.connect()
            self._begin()
        except BaseException:
            self._release()
            raise
        self.works = []
        self._replay = False
        self._after_commit = []

    # What store functions call: compiled-once statements, through
    # exec_driver_sql so that SQL logging and execution events see them.
    def execute(self, statement, parameters=None):
        compiled = statement.compiled(self._dialect)
        sql, values = compiled.sql_and_parameters(parameters)
        return compiled, self.connection.exec_driver_sql(sql, values)

    def rows(self, statement, parameters=None):
        compiled, result = self.execute(statement, parameters)
        return compiled.convert(result.fetchall())

    def first(self, statement, parameters=None):
        rows = self.rows(statement, parameters)
        return rows[0] if rows else None

    def after_commit(self, callback):
        """Call ``callback()`` once this transaction has committed (never if it aborts)."""
        self._after_commit.append(callback)

    # The transaction.
    def run(self, work):
        """Run ``work(self)``; after a restart, first every work this transaction had run."""
        if self._replay:
            for earlier in self.works:
                earlier(self)
            self._replay = False
        result = work(self)
        self.works.append(work)
        return result

    def _begin(self):
        self._transaction = self.connection.begin()
        if self.dialect_name == "sqlite":
            # The driver begins nothing itself. IMMEDIATE: take the write
            # lock now, so that a read followed by a write never fails on a
            # lock another process took in between.
            self.connection.exec_driver_sql("BEGIN IMMEDIATE")

    def restart(self):
        """Roll back and begin again; the next ``run`` replays the works so far."""
        self._transaction.rollback()
        self._after_commit.clear()
        self._begin()
        self._replay = True

    def commit(self):
        self._transaction.commit()

    def finish(self):
        """After a commit: release the connection, then tell who asked."""
        self.close()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def close(self):
        """Roll back whatever was not committed and release everything (idempotent)."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.close()  # rolls back an uncommitted transaction
        finally:
            self._release()

    def _release(self):
        if self._lock is not None:
            self._lock.release()


@implementer(transaction.interfaces.IDataManager)
class WriterDataManager:
    """Joins a ``Writer`` to a ``transaction`` transaction, one phase: the
    database commits when the transaction votes (after the other resources,
    by ``sortKey``), so a failure there still aborts them all."""

    def __init__(self, writer, transaction_manager):
        self.writer = writer
        self.transaction_manager = transaction_manager

    def abort(self, txn):
        self.writer.close()

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        self.writer.commit()

    def tpc_finish(self, txn):
        self.writer.finish()

    def tpc_abort(self, txn):
        self.writer.close()

    def sortKey(self):
        # "~" sorts after zope.sqlalchemy's "~sqlalchemy:": we vote last.
        return f"~~lambda_registry:{id(self)}"


class Database:
    """Our own engine (one per application), and how requests use it."""

    def __init__(self, engine, db_timeout, retry_attempts):
        self.engine = engine
        self.db_timeout = db_timeout
        self.retry_attempts = retry_attempts
        self.write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self._autocommit_reads = engine.dialect.name == "postgresql"

    @classmethod
    def from_settings(cls, settings):
        return cls(get_engine(settings.database_url, settings.db_timeout), settings.db_timeout, settings.retry_attempts)

    # Reads.
    @contextlib.contextmanager
    def read(self, request):
        reader = Reader(self)
        try:
            yield reader
        finally:
            reader.close()

    def begin_read(self, connection):
        # Back to transactions when it returns to the pool (db/engine.py).
        if self._autocommit_reads:
            connection.dbapi_connection.autocommit = True

    # Writes.
    def write(self, request, work, apart=False):
        """``work(writer)``'s result, with the write committed by the end of
        the request (pyramid_tm) or before this returns (no pyramid_tm, or
        ``apart``: a write that must stand whatever becomes of the request)."""
        joined = not apart and request is not None and is_tm_active(request)
        writer = request.environ.get(WRITER) if joined else None
        if writer is None:
            writer = Writer(self)
            if joined:
                request.environ[WRITER] = writer
                request.tm.get().join(WriterDataManager(writer, request.tm))
        try:
            result = self._attempts(writer, work)
            if not joined:
                writer.commit()
                writer.finish()
            return result
        finally:
            if not joined:
                writer.close()

    def _attempts(self, writer, work):
        attempt = 1
        while True:
            try:
                return writer.run(work)
            except Exception as exc:
                if attempt >= self.retry_attempts or not is_transient(exc):
                    raise
                # A deadlock or serialization failure: the same transaction
                # run again may well succeed.
                log.info("retrying a write after %s (attempt %d of %d)", type(exc).__name__, attempt + 1,
                         self.retry_attempts)
                writer.restart()
                attempt += 1

    def dispose(self):
        self.engine.dispose()


# -- the host's session ------------------------------------------------------

class SessionExecutor:
    """Statements on the host's session: its connection, its transaction."""

    def __init__(self, session, request):
        self.session = session
        self.dialect_name = session.get_bind().dialect.name
        self._request = request

    def execute(self, statement, parameters=None):
        connection = self.session.connection()
        return connection.execute(statement.clause_for(connection.dialect), parameters or {})

    def rows(self, statement, parameters=None):
        return self.execute(statement, parameters).all()

    def first(self, statement, parameters=None):
        return self.execute(statement, parameters).first()

    def after_commit(self, callback):
        self._request.tm.get().addAfterCommitHook(lambda committed: committed and callback())


class HostSessionDatabase:
    """The host's SQLAlchemy session (a request attribute), for reads and writes."""

    def __init__(self, attribute):
        self.attribute = attribute

    @contextlib.contextmanager
    def read(self, request):
        yield SessionExecutor(getattr(request, self.attribute), request)

    def write(self, request, work, apart=False):
        # The host's session has one transaction: ``apart`` cannot be apart here.
        executor = SessionExecutor(getattr(request, self.attribute), request)
        result = work(executor)
        # Core statements are invisible to zope.sqlalchemy: say we wrote.
        zope.sqlalchemy.mark_changed(executor.session)
        return result

    def dispose(self):
        pass
