"""Following the changes feed, and waiting for its next change (SPEC.md
"Changes"): one ``ChangeWaiters`` per application.

- **What wakes a waiter.** A request that waits registers an event under
  (kind, owner) before it reads, so that no change committed between its
  read and its wait is missed. The event is set by a commit of this
  process (``changed``, after the write committed), and on PostgreSQL by
  the application's one listening connection (``storage/listener.py``),
  which hears the commits of every process. A waiter then reads again.
- **When it reads again without being woken.** On SQLite (no
  notifications between processes) and while the listener is down: every
  ``POLL_SECONDS``. When committed changes of the caller's are held back
  behind an older transaction still running (``storage/changes.py``): every
  ``HELD_BACK_SECONDS``, since that transaction's end sends nothing, and it
  may not even be one of ours.
- **The bound.** At most ``lambda_registry.changes.max_waiting`` requests
  wait at once per process: each holds a server thread (not a database
  connection: every read takes one from the pool and gives it back). Past
  it, ``wait`` is ignored and the answer comes at once.
"""

import contextlib
import threading
import time

from ..storage.changes import START, Position

# Seconds between reads of a waiter that no notification can wake (SQLite,
# or the listener down): within SPEC's "1 s of its commit".
POLL_SECONDS = 0.4
# ... and while a change of the caller's is held back behind a running transaction.
HELD_BACK_SECONDS = 0.2
# Even with notifications, read again now and then (cheap, and it bounds
# the harm of any notification lost in transit).
SAFETY_SECONDS = 5.0
MAX_WAIT_SECONDS = 30


class ChangeWaiters:
    """The requests of one application waiting for changes, and how they are woken."""

    def __init__(self, database, max_waiting, metrics, clock=time.monotonic):
        self.database = database
        self.metrics = metrics
        self.clock = clock
        self._slots = threading.BoundedSemaphore(max_waiting) if max_waiting > 0 else None
        self._lock = threading.Lock()
        self._events = {}  # (kind key, owner) -> {threading.Event}

    def waiting(self):
        """How many requests of this process wait for a change now."""
        with self._lock:
            return sum(len(events) for events in self._events.values())

    # -- who wakes them ----------------------------------------------------------
    def changed(self, kind_key, owner):
        """A change of ``owner``'s records of this kind was committed."""
        with self._lock:
            events = list(self._events.get((kind_key, owner), ()))
        for event in events:
            event.set()

    def wake_all(self):
        with self._lock:
            events = [event for waiting in self._events.values() for event in waiting]
        for event in events:
            event.set()

    @contextlib.contextmanager
    def _watching(self, kind_key, owner):
        event = threading.Event()
        key = (kind_key, owner)
        with self._lock:
            self._events.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                waiting = self._events[key]
                waiting.discard(event)
                if not waiting:
                    del self._events[key]

    # -- following -----------------------------------------------------------------
    def follow(self, read, kind, owner, wait):
        """``read()`` (a ``storage.changes.FeedPage``) now, or, when it has
        nothing and ``wait`` seconds are given, once something changed or
        the time is over."""
        if wait <= 0:
            return read()
        if self._slots is None or not self._slots.acquire(blocking=False):
            page = read()
            if not page.rows:
                self.metrics.change_wait_ended("full")
            return page
        self.metrics.change_waiting(+1)
        try:
            return self._wait(read, kind, owner, self.clock() + wait)
        finally:
            self.metrics.change_waiting(-1)
            self._slots.release()

    def _wait(self, read, kind, owner, deadline):
        waited = False
        with self._watching(kind.key, owner) as event:
            while True:
                event.clear()
                page = read()
                if page.rows:
                    if waited:
                        self.metrics.change_wait_ended("change")
                    return page
                remaining = deadline - self.clock()
                if remaining <= 0:
                    self.metrics.change_wait_ended("time")
                    return page
                waited = True
                event.wait(min(remaining, self._read_again_within(page)))

    def _read_again_within(self, page):
        if page.held_back:
            return HELD_BACK_SECONDS
        if self.database.listen(self.changed, self.wake_all):
            return SAFETY_SECONDS
        return POLL_SECONDS


def position_of(since):
    """The ``storage.changes.Position`` of a validated ``since`` ((position, uuid) or None)."""
    return START if since is None else Position(*since)
