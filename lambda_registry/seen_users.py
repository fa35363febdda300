"""Remembering every user seen with a valid token, without a write per request.

``authenticate`` records its caller every time (and so moves ``last_seen``).
Any other authenticated request records its caller at most once per
``INTERVAL`` per process: a process remembers whom it recorded when, and a
list polled every second costs one small write a minute, not one a request.
The write is a short transaction of its own, so that a caller whose token
was valid is remembered whatever becomes of the request (a refused body,
say); with a host's shared session it is the host's one transaction.
"""

import collections
import threading
import time

from .model.kinds import utcnow
from .storage.user_store import UserStore

INTERVAL = 60.0
REMEMBERED = 10_000  # users a process remembers recording; the least recent leave first


class SeenUsers:
    def __init__(self, database, counts_cache, interval=INTERVAL, clock=time.monotonic):
        self.database = database
        self.counts_cache = counts_cache
        self.interval = interval
        self.clock = clock
        self.store = UserStore()
        self._recorded = collections.OrderedDict()  # user id -> when this process recorded it
        self._lock = threading.Lock()

    def seen(self, request, user_id, always=False):
        """Record ``user_id`` if it is due (or ``always``)."""
        now = self.clock()
        with self._lock:
            last = self._recorded.get(user_id)
        if not always and last is not None and now - last < self.interval:
            return
        stamp = utcnow()

        def work(db):
            if self.store.seen(db, user_id, stamp):
                db.after_commit(lambda: self.counts_cache.invalidate("users"))
            db.after_commit(lambda: self._remember(user_id, now))

        self.database.write(request, work, apart=True)

    def forget(self):
        """Forget whom this process recorded (the next request of each is recorded again)."""
        with self._lock:
            self._recorded.clear()

    def _remember(self, user_id, when):
        with self._lock:
            self._recorded[user_id] = when
            self._recorded.move_to_end(user_id)
            while len(self._recorded) > REMEMBERED:
                self._recorded.popitem(last=False)

    def count(self, request):
        def load():
            with self.database.read(request) as db:
                return self.store.count(db)

        return self.counts_cache.get("users", load)
