"""One ``LISTEN`` connection per application on PostgreSQL: the changes
feed's waiters learn of every committed change, whichever process wrote it.

Writes send ``NOTIFY`` on ``changes.CHANNEL`` with the kind and owner they
changed (``changes.py``); PostgreSQL delivers a notification only once its
transaction has committed. A thread of ours holds a connection of its own
(not one of the pool's, which are sized to the server's threads) and hands
each notification to ``on_change(kind key, owner)``.

When the connection fails (a database restart, a network fault) the
thread calls ``on_reset()`` (waiters read again, and answer 503 while the
database is down), then connects again, backing off up to a few seconds,
and calls ``on_reset()`` once more when it is back: a change committed
while nobody listened is then read, not lost.
"""

import logging
import threading

from .changes import CHANNEL, read_notice

log = logging.getLogger(__name__)

# How long a wait for notifications lasts before the thread checks whether to stop.
TICK_SECONDS = 0.5
BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


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
        # The engine's own driver and connection arguments (public
        # Dialect API), with autocommit: LISTEN takes effect at once.
        dialect = self.engine.dialect
        arguments, options = dialect.create_connect_args(self.engine.url)
        options = {**options, "autocommit": True, "connect_timeout": max(1, round(self.connect_timeout))}
        connection = dialect.loaded_dbapi.connect(*arguments, **options)
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
