"""A short per-process cache of the public counters.

The count is polled without a token by every open landing page. Its query
is already cheap (24 counter rows), but a poll that needs no database at
all is cheaper still, and keeps answering through a database blip shorter
than the cache. Writes made by this process empty it once they commit;
writes by other processes show within ``lambda_registry.count_cache_seconds``.
"""

import threading
import time

from .settings import get_settings


class PublicCountsCache:
    def __init__(self, seconds, clock=time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._records = None
        self._until = 0.0
        self._generation = 0

    def get(self, load):
        """{status: records}, from the cache or from ``load()``."""
        if self.seconds <= 0:
            return load()
        with self._lock:
            if self._records is not None and self._clock() < self._until:
                return self._records
            generation = self._generation
        records = load()
        with self._lock:
            # A write that committed while we loaded may not be in ``records``:
            # keep them only if nothing was invalidated meanwhile.
            if generation == self._generation:
                self._records, self._until = records, self._clock() + self.seconds
        return records

    def invalidate(self, committed=True):
        """Forget the counters (an after-commit hook: ``committed`` is its status)."""
        if committed:
            with self._lock:
                self._records = None
                self._generation += 1


def invalidate_after_commit(request):
    """Empty the cache once this request's transaction has committed."""
    cache = request.registry.lambda_registry_public_counts
    request.tm.get().addAfterCommitHook(cache.invalidate)


def includeme(config):
    config.registry.lambda_registry_public_counts = PublicCountsCache(get_settings(config.registry).count_cache_seconds)
