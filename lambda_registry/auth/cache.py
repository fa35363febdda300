"""The in-process cache of validated identities, with single flight.

Keys are keyed hashes of tokens (``tokens.token_key``), never tokens. An
entry is trusted until its own deadline: ``cache_ttl`` for a valid token but
never past the expiry the identity service gave, a few seconds for a
rejected one (so a flood of one bad token makes one remote call, and a token
that has just become valid is not refused for long).
"""

import collections
import threading
import time

REJECTED_TTL = 5.0


class _Flight:
    """One identity call under way; later callers for the same key wait on it."""

    def __init__(self):
        self.done = threading.Event()
        self.owner = None
        self.error = None


class IdentityCache:
    def __init__(self, ttl, max_size, rejected_ttl=REJECTED_TTL, clock=time.monotonic):
        self.ttl = float(ttl)
        self.rejected_ttl = min(float(rejected_ttl), self.ttl)
        self.max_size = max_size
        self._clock = clock
        self._entries = collections.OrderedDict()  # key -> (owner or None, deadline)
        self._flights = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def _lookup(self, key, now):
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        owner, deadline = entry
        if deadline <= now:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, owner

    def _store(self, key, owner, valid_for):
        """Keep ``owner`` (None: rejected) for ``valid_for`` seconds at most."""
        limit = self.ttl if owner is not None else self.rejected_ttl
        lifetime = limit if valid_for is None else min(limit, valid_for)
        if lifetime <= 0:
            return
        self._entries[key] = (owner, self._clock() + lifetime)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)  # the least recently used

    def get_or_load(self, key, load, wait_timeout):
        """The owner for ``key``, calling ``load()`` once however many ask at once.

        ``load`` returns ``(owner or None, seconds it may be trusted or None)``
        or raises; followers of a failed call get the same exception.
        """
        with self._lock:
            found, owner = self._lookup(key, self._clock())
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
