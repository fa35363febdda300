"""The in-process cache of validated identities, with single flight and a
bound on the requests waiting for the identity service.

Keys are keyed hashes of tokens (``tokens.token_key``), never tokens.

- Accepted tokens are trusted until their own deadline: ``cache_ttl``, never
  past the expiry the identity service gave.
- Refused tokens are remembered for a few seconds in a memory of their own,
  so a flood of one bad token makes one remote call, and a flood of random
  ones can never push an accepted identity out.
- At most ``max_waiting`` requests wait for the identity service at once
  (the one making a call for a token and those waiting for that call):
  past that, a request with an uncached token is turned away at once
  (``ChecksBusy``), so that server threads stay free for cached users.
"""

import collections
import threading
import time

REJECTED_TTL = 5.0
REJECTED_SIZE = 1024


class ChecksBusy(Exception):
    """Too many requests are already waiting for the identity service."""


class _Lru:
    """Entries ``key -> (owner, deadline)``, the least recently used leaving first."""

    def __init__(self, max_size):
        self.max_size = max_size
        self.entries = collections.OrderedDict()

    def __len__(self):
        return len(self.entries)

    def lookup(self, key, now):
        """(True, owner) for a live entry, else (False, None)."""
        entry = self.entries.get(key)
        if entry is None:
            return False, None
        owner, deadline = entry
        if deadline <= now:
            del self.entries[key]
            return False, None
        self.entries.move_to_end(key)
        return True, owner

    def store(self, key, owner, deadline):
        self.entries[key] = (owner, deadline)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_size:
            self.entries.popitem(last=False)


class _Flight:
    """One identity call under way; later callers for the same key wait on it."""

    def __init__(self):
        self.done = threading.Event()
        self.owner = None
        self.error = None


class IdentityCache:
    def __init__(self, ttl, max_size, max_waiting, rejected_ttl=REJECTED_TTL, rejected_size=REJECTED_SIZE,
                 clock=time.monotonic):
        self.ttl = float(ttl)
        self.rejected_ttl = min(float(rejected_ttl), self.ttl)
        self.accepted = _Lru(max_size)
        self.refused = _Lru(rejected_size)
        self._clock = clock
        self.max_waiting = max_waiting
        self.waiting = 0  # requests waiting for the identity service now
        self._flights = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self.accepted) + len(self.refused)

    def _lookup(self, key):
        now = self._clock()
        found, owner = self.accepted.lookup(key, now)
        if not found:
            found, owner = self.refused.lookup(key, now)
        return found, owner

    def _store(self, key, owner, valid_for):
        """Keep ``owner`` (None: refused) for ``valid_for`` seconds at most."""
        limit, memory = (self.ttl, self.accepted) if owner is not None else (self.rejected_ttl, self.refused)
        lifetime = limit if valid_for is None else min(limit, valid_for)
        if lifetime > 0:
            memory.store(key, owner, self._clock() + lifetime)

    def get_or_load(self, key, load, wait_timeout, on_hit=None):
        """The owner for ``key`` (None: refused), calling ``load()`` once however many ask at once.

        ``load`` returns ``(owner or None, seconds it may be trusted or None)``
        or raises; followers of a failed call get the same exception. Raises
        ``ChecksBusy`` when too many requests already wait. ``on_hit()`` is
        called when the answer is the cache's (no call made or waited for).
        """
        with self._lock:
            found, owner = self._lookup(key)
            if not found:
                if self.waiting >= self.max_waiting:
                    raise ChecksBusy()
                self.waiting += 1
        if found:
            if on_hit is not None:
                on_hit()
            return owner
        try:
            return self._single_flight(key, load, wait_timeout)
        finally:
            with self._lock:
                self.waiting -= 1

    def _single_flight(self, key, load, wait_timeout):
        with self._lock:
            # A call that ended since the look-up above may have answered already.
            found, owner = self._lookup(key)
            if found:
                return owner
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if not leader:
            if not flight.done.wait(wait_timeout) or flight.error is not None:
                raise flight.error or TimeoutError("identity call still under way")
            return flight.owner
        try:
            owner, valid_for = load()
            flight.owner = owner
            with self._lock:
                self._store(key, owner, valid_for)
            return owner
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
