"""A short per-process cache of the public counts.

The counts are polled without a token by every open landing page. Their
queries are already cheap (a few counter rows), but a poll that needs no
database at all is cheaper still, and keeps answering through a database
blip shorter than the cache. Writes made by this process empty the entry
they change once they commit; writes by other processes show within
``lambda_registry.count_cache_seconds``.
"""

import threading
import time


class CountsCache:
    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._entries = {}  # name -> (value, until)
        self._generations = {}

    def get(self, name, load):
        """The value of ``name``, from the cache or from ``load()``."""
        if self.seconds <= 0:
            return load()
        with self._lock:
            entry = self._entries.get(name)
            if entry is not None and self.clock() < entry[1]:
                return entry[0]
            generation = self._generations.get(name, 0)
        value = load()
        with self._lock:
            # A write that committed while we loaded may not be in ``value``:
            # keep it only if nothing was invalidated meanwhile.
            if generation == self._generations.get(name, 0):
                self._entries[name] = (value, self.clock() + self.seconds)
        return value

    def invalidate(self, name):
        """Forget ``name`` (call it once the write that changed it has committed)."""
        with self._lock:
            self._entries.pop(name, None)
            self._generations[name] = self._generations.get(name, 0) + 1

    def clear(self):
        with self._lock:
            for name in list(self._entries):
                self._entries.pop(name)
                self._generations[name] = self._generations.get(name, 0) + 1
