"""Two connections per application on PostgreSQL, each with a thread of its
own (not the pool's, which are sized to the server's threads): the changes
feed's waiters learn of every committed change, whichever process wrote it.

- ``ChangeNotifier`` sends ``NOTIFY`` on ``changes.CHANNEL`` with the kind
  and owner of each change this process committed, once committed: writers
  only put it in a queue. (A NOTIFY sent by the writing transaction would
  make PostgreSQL serialise all such commits on one lock, held through the
  WAL flush.) A change committed by a process that dies before its notice
  is sent is still found: waiters read again every few seconds anyway.
- ``ChangeListener`` holds a ``LISTEN`` connection and hands each
  notification to ``on_change(kind key, owner)``.

When the listener's connection fails (a database restart, a network
fault) its thread calls ``on_reset()`` (waiters read again, and answer 503 while the
database is down), then connects again, backing off up to a few seconds,
and calls ``on_reset()`` once more when it is back: a change committed
while nobody listened is then read, not lost.
"""

import logging
import queue
import threading
import time

from .changes import CHANNEL, notice_of, read_notice

log = logging.getLogger(__name__)

# How long a wait for notifications lasts before the thread checks whether to stop.
TICK_SECONDS = 0.5
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


def connect(engine, connect_timeout):
    """A connection of the engine's own driver and connection arguments
    (public Dialect API), in autocommit: LISTEN and NOTIFY take effect at once."""
    dialect = engine.dialect
    arguments, options = dialect.create_connect_args(engine.url)
    options = {**options, "autocommit": True, "connect_timeout": max(1, round(connect_timeout))}
    return dialect.loaded_dbapi.connect(*arguments, **options)


class ChangeNotifier:
    """Sends the notices of this process's commits, in batches, from a thread of its own."""

    # Notices in one statement at most (each is one pg_notify call).
    BATCH = 100
    # After a first notice, how long to gather more before sending: a busy
    # process sends one statement for many commits (the same owner's
    # repeated changes as one notice), for 10 ms more latency.
    GATHER_SECONDS = 0.01

    def __init__(self, engine, connect_timeout):
        self.engine = engine
        self.connect_timeout = connect_timeout
        self._queue = queue.SimpleQueue()
        self._connection = None
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="lambda_registry-notifier", daemon=True)
        self._thread.start()

    def tell(self, kind_key, owner):
        """After a commit: tell every listening process (never blocks the writer)."""
        self._queue.put(notice_of(kind_key, owner))

    def stop(self, timeout=2.0):
        """Send what is queued, then stop (a command that exits must not drop its notices)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self):
        while True:
            notices = [self._queue.get()]
            if notices[0] is not None:
                time.sleep(self.GATHER_SECONDS)
            while len(notices) < self.BATCH:
                try:
                    notices.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in notices
            distinct = list(dict.fromkeys(notice for notice in notices if notice is not None))
            if distinct:
                self._send(distinct)
            if stop:
                break
        self._close()

    def _close(self):
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken
                pass

    def _send(self, notices):
        calls = ", ".join(["pg_notify(%s, %s)"] * len(notices))
        values = [value for notice in notices for value in (CHANNEL, notice)]
        for attempt in (1, 2):  # once more on a new connection: the old one may have died idle
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = connect(self.engine, self.connect_timeout)
                self._connection.execute(f"SELECT {calls}", values)
                if self._failing:
                    log.info("the changes notifier reaches the database again")
                self._failing = False
                return
            except Exception as exc:  # the driver's errors, whatever their class
                self._close()
                if attempt == 2 and not self._failing:
                    # Waiters elsewhere read again within seconds anyway: log, drop, go on.
                    log.warning("changes could not be announced to other processes (%s); their waiters "
                                "will see them at their next periodic read", type(exc).__name__)
                    self._failing = True


class ChangeListener:
    def __init__(self, engine, connect_timeout, on_change, on_reset):
        self.engine = engine
        self.connect_timeout = connect_timeout
        self.on_change = on_change
        self.on_reset = on_reset
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lambda_registry-listener", daemon=True)
        self._thread.start()

    @property
    def listening(self):
        """Is the connection up (a change now reaches ``on_change`` at its commit)?"""
        return self._listening.is_set()

    def stop(self, timeout=2 * TICK_SECONDS):
        self._stop.set()
        self._thread.join(timeout)

    def _connect(self):
        connection = connect(self.engine, self.connect_timeout)
        connection.execute(f"LISTEN {CHANNEL}")
        return connection

    def _run(self):
        failures = 0
        while not self._stop.is_set():
            connection = None
            try:
                connection = self._connect()
                self._listening.set()
                if failures:
                    log.info("listening for changes again after %d failed attempt(s)", failures)
                failures = 0
                self.on_reset()  # whatever was committed while nobody listened
                while not self._stop.is_set():
                    for notification in connection.notifies(timeout=TICK_SECONDS):
                        notice = read_notice(notification.payload)
                        if notice is not None:
                            self.on_change(*notice)
            except Exception as exc:  # the driver's errors, whatever their class
                if self._stop.is_set():
                    break
                failures += 1
                if failures == 1:
                    log.warning("the changes listener lost the database (%s); waiters poll until it is back",
                                type(exc).__name__)
                self._listening.clear()
                self.on_reset()
                self._stop.wait(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1])
            finally:
                self._listening.clear()
                if connection is not None:
                    try:
                        connection.close()
                    except Exception:  # already broken
                        pass
