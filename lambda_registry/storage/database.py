"""How a request reads and writes our tables: one executor, one transaction model.

- **The executor** (``Executor``) runs statements compiled once
  (``statements.Statement``) on one DBAPI connection, and is the only way
  our code reaches the database: every query of ``storage/`` takes one.
  Its connection comes from our engine's pool (``engine.raw_connection()``)
  or, with ``lambda_registry.dbsession``, from the host's SQLAlchemy
  session. Why not a Session or a Core ``Connection``: one status update's
  statements cost 1.07 M instructions through a Session registered with
  zope.sqlalchemy, 245 k through a Core connection and 103 k on the DBAPI
  connection (docs/performance.md, ``bench/instructions.py``), and the
  whole service's update is held to 3x a plain-WSGI baseline's. Statements
  are logged (SQL and parameters, never a token) on ``lambda_registry.sql``
  at DEBUG (so that a host logging ``lambda_registry`` at INFO is not
  flooded), as SQLAlchemy logs its own on ``sqlalchemy.engine``.
- **Reads** (``with database.read(request) as executor``) check a pooled
  connection out for the block, outside any transaction manager: on
  PostgreSQL in autocommit, so a read costs no BEGIN and no COMMIT round
  trip.
- **Writes** (``database.write(request, work)``) run ``work(executor)``
  inside a ``transaction`` transaction, always: the request's
  ``request.tm`` when pyramid_tm manages the request (standalone always:
  ``main()`` includes it; embedded, when the host does), else one of our
  own for this write alone, committed before ``write`` returns. Our
  database transaction joins it through ``ConnectionDataManager`` and
  commits when it votes: a 202 is only answered once the write is stored,
  and a host's writes and ours commit or abort together.
- **Retries are ours**: a deadlock or serialization failure rolls our
  database transaction back and runs every work of it again
  (``lambda_registry.retry_attempts``), without touching the host's
  execution policy or copying request bodies.
- **SQLite writers take turns in-process**: a lock held from ``BEGIN
  IMMEDIATE`` to the end of the transaction, so that our own threads queue
  without SQLite's busy-handler sleeps; other processes still wait on
  ``BEGIN IMMEDIATE`` and the busy timeout.
"""

import contextlib
import logging
import threading

from pyramid_tm import is_tm_active
import transaction
import transaction.interfaces
from zope.interface import implementer
import zope.sqlalchemy

from .engine import get_engine
from .failures import DatabaseUnavailable, driver_failure, is_transient
from .listener import ChangeListener, ChangeNotifier

log = logging.getLogger(__name__)
sql_log = logging.getLogger("lambda_registry.sql")


class Executor:
    """Compiled-once statements on one DBAPI connection (and, for a write,
    what to do once its transaction has committed)."""

    def __init__(self, connection, dialect):
        self.connection = connection
        self.dialect = dialect
        self._dbapi = dialect.loaded_dbapi
        self._after_commit = []
        self._done_once = set()

    def _run(self, statement, parameters, fetch):
        compiled = statement.compiled(self.dialect)
        sql, values = compiled.sql_and_parameters(parameters)
        if sql_log.isEnabledFor(logging.DEBUG):
            sql_log.debug("%s %r", sql, values)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, values)
            result = compiled.convert(cursor.fetchall()) if fetch else cursor.rowcount
        except self._dbapi.Error as exc:
            self._failed(exc, cursor)
        finally:
            cursor.close()
        return result

    def rows(self, statement, parameters=None):
        """Every row of ``statement`` (named tuples of its columns)."""
        return self._run(statement, parameters, fetch=True)

    def first(self, statement, parameters=None):
        rows = self._run(statement, parameters, fetch=True)
        return rows[0] if rows else None

    def execute(self, statement, parameters=None):
        """Run a statement that returns no rows; how many rows it changed."""
        return self._run(statement, parameters, fetch=False)

    def after_commit(self, callback):
        """Call ``callback()`` once this write has committed (never if it aborts)."""
        self._after_commit.append(callback)

    def once(self, key, action):
        """Call ``action()`` unless it was called under ``key`` in this
        transaction already (again after a restart)."""
        if key not in self._done_once:
            action()
            self._done_once.add(key)

    def committed(self):
        callbacks, self._after_commit = self._after_commit, []
        self._done_once = set()
        for callback in callbacks:
            callback()

    def aborted(self):
        self._after_commit = []
        self._done_once = set()

    def _failed(self, exc, cursor):
        # A connection of ours that died must not go back to the pool.
        invalidate = getattr(self.connection, "invalidate", None)
        if invalidate is not None and self.dialect.is_disconnect(exc, self.connection.dbapi_connection, cursor):
            invalidate(exc)
        unavailable = driver_failure(exc, self._dbapi)
        if unavailable is not None:
            raise unavailable from exc
        raise exc


# -- writes -------------------------------------------------------------------

class Writer:
    """One database transaction on a pooled connection, and the works run in it."""

    def __init__(self, database):
        self._lock = database.write_lock
        if self._lock is not None and not self._lock.acquire(timeout=database.db_timeout):
            raise DatabaseUnavailable("no turn to write within db_timeout")
        try:
            self.executor = Executor(database.connect(), database.engine.dialect)
            self._begin()
        except BaseException:
            self._release()
            raise
        self.works = []
        self._replay = False

    def _begin(self):
        if self.executor.dialect.name == "sqlite":
            # The driver begins nothing itself (engine.py). IMMEDIATE: take
            # the write lock now, so that a read followed by a write never
            # fails on a lock another process took in between. (psycopg
            # begins a transaction by itself before the first statement.)
            self.executor.connection.cursor().execute("BEGIN IMMEDIATE")

    def run(self, work):
        """Run ``work(executor)``; after a restart, first every work this transaction had run."""
        if self._replay:
            for earlier in self.works:
                earlier(self.executor)
            self._replay = False
        result = work(self.executor)
        self.works.append(work)
        return result

    def restart(self):
        """Roll back and begin again; the next ``run`` replays the works so far."""
        self.executor.connection.rollback()
        self.executor.aborted()
        self._begin()
        self._replay = True

    def commit(self):
        self.executor.connection.commit()

    def finish(self):
        """After the commit: give the connection back, then tell who asked."""
        self.close()
        self.executor.committed()

    def close(self):
        """Roll back whatever was not committed and release everything (idempotent)."""
        connection, self.executor.connection = self.executor.connection, None
        if connection is None:
            return
        try:
            connection.close()  # back to the pool, which rolls back what is left
        finally:
            self._release()

    def _release(self):
        if self._lock is not None:
            self._lock.release()


@implementer(transaction.interfaces.IDataManager)
class ConnectionDataManager:
    """Our database transaction inside a ``transaction`` transaction: it
    commits in one phase when the transaction votes, after the other
    resources (``sortKey``), so that a failure there still aborts them all."""

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
        self._listener = self._notifier = None
        self._listener_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings):
        engine = get_engine(settings.database_url, settings.db_timeout, settings.pool_size, settings.pool_overflow)
        return cls(engine, settings.db_timeout, settings.retry_attempts)

    def connect(self):
        """A pooled DBAPI connection (its ``close()`` gives it back)."""
        try:
            return self.engine.raw_connection()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            # A checkout that fails raises the driver's own error.
            raise DatabaseUnavailable(f"no connection: {type(exc).__name__}") from exc

    # Reads.
    @contextlib.contextmanager
    def read(self, request):
        connection = self.connect()
        try:
            if self._autocommit_reads:
                # Back to transactions when it returns to the pool (engine.py).
                connection.dbapi_connection.autocommit = True
            yield Executor(connection, self.engine.dialect)
        finally:
            connection.close()

    # Writes.
    def write(self, request, work, apart=False):
        """``work(executor)``'s result, with the write committed by the end
        of the request's transaction (pyramid_tm), or before this returns
        (no pyramid_tm, or ``apart``: a write that must stand whatever
        becomes of the request)."""
        if not apart and request is not None and is_tm_active(request):
            return self._write_in(request.tm, work)
        manager = transaction.TransactionManager(explicit=True)
        with manager:
            return self._write_in(manager, work)

    def _write_in(self, manager, work):
        current = manager.get()
        try:
            writer = current.data(self)
        except KeyError:
            # The first write of this transaction: our database transaction joins it.
            writer = Writer(self)
            current.join(ConnectionDataManager(writer, manager))
            current.set_data(self, writer)
        return self._attempts(writer, work)

    def _attempts(self, writer, work):
        attempt = 1
        while True:
            try:
                return writer.run(work)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt >= self.retry_attempts:
                    raise DatabaseUnavailable(f"still {type(exc).__name__} after {attempt} attempt(s)") from exc
                # A deadlock or serialization failure: the same transaction
                # run again may well succeed.
                log.info("retrying a write after %s (attempt %d of %d)", type(exc).__name__, attempt + 1,
                         self.retry_attempts)
                writer.restart()
                attempt += 1

    # Changes committed by any process.
    def listen(self, on_change, on_reset):
        """Start telling ``on_change(kind key, owner)`` of every change
        committed on this database, once (PostgreSQL: ``listener.py``).
        Whether changes are being told now (False: poll)."""
        if self.engine.dialect.name != "postgresql":
            return False
        with self._listener_lock:
            if self._listener is None:
                self._listener = ChangeListener(self.engine, self.db_timeout, on_change, on_reset)
        return self._listener.listening

    def announce(self, kind_key, owner):
        """After a commit of a change of ``owner``'s records: tell the other
        processes on this database (PostgreSQL: ``listener.py``'s notifier)."""
        if self.engine.dialect.name != "postgresql":
            return
        if self._notifier is None:
            with self._listener_lock:
                if self._notifier is None:
                    self._notifier = ChangeNotifier(self.engine, self.db_timeout)
        self._notifier.tell(kind_key, owner)

    def dispose(self):
        with self._listener_lock:
            listener, self._listener = self._listener, None
            notifier, self._notifier = self._notifier, None
        if listener is not None:
            listener.stop()
        if notifier is not None:
            notifier.stop()
        self.engine.dispose()


# -- the host's session ------------------------------------------------------

class HostSessionDatabase:
    """The host's SQLAlchemy session (a request attribute), for reads and
    writes: one connection, one transaction, the host's rules (and no
    retries of ours)."""

    def __init__(self, attribute):
        self.attribute = attribute

    def _executor(self, request):
        session = getattr(request, self.attribute)
        connection = session.connection()
        return session, Executor(connection.connection, connection.dialect)

    @contextlib.contextmanager
    def read(self, request):
        yield self._executor(request)[1]

    def listen(self, on_change, on_reset):
        """No connection of our own to listen on: waiters poll."""
        return False

    def announce(self, kind_key, owner):
        """No connection of our own to announce on: other processes' waiters
        see the host's writes at their periodic read."""

    def write(self, request, work, apart=False):
        # The host's session has one transaction: ``apart`` cannot be apart here.
        session, executor = self._executor(request)
        request.tm.get().addAfterCommitHook(lambda committed: committed and executor.committed())
        result = work(executor)
        # Statements run on its connection are invisible to zope.sqlalchemy: say we wrote.
        zope.sqlalchemy.mark_changed(session)
        return result

    def dispose(self):
        pass
