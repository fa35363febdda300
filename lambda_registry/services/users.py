"""Users (SPEC.md "Users"): whom the registry remembers, and the two endpoints.

The registry remembers every user seen with a valid token, without a
write per request. ``authenticate`` records its caller every time (and so
moves ``last_seen``). Any other request with a valid token records its
caller (in its view, or in the services' error handler when what it sent
is refused: SPEC.md "Users"), at most once per ``INTERVAL`` per process: a process remembers whom it recorded when, and a
list polled every second costs one small write a minute, not one a
request. The write is a short transaction of its own, so that a caller
whose request then fails (a 404, a 409) is remembered all the same; with
a host's shared session it is the host's one transaction.
"""

import collections
import threading
import time

from ..model.kinds import utcnow
from ..storage.user_store import UserStore
from ..web.envelope import success
from ..web.schemas import component_ref
from .service import Operation, RegistryService

INTERVAL = 60.0
REMEMBERED = 10_000  # users a process remembers recording; the least recent leave first
AUTHENTICATED = "Authenticated."
COUNTED = "Lambda users count."


class SeenUsers:
    def __init__(self, database, counts, interval=INTERVAL, clock=time.monotonic):
        self.database = database
        self.interval = interval
        self.clock = clock
        self.store = UserStore(counts)
        self._recorded = collections.OrderedDict()  # user id -> when this process recorded it
        self._lock = threading.Lock()

    def seen(self, request, user_id, always=False):
        """Record ``user_id`` if it is due (or ``always``)."""
        now = self.clock()
        with self._lock:
            last = self._recorded.get(user_id)
        if not always and last is not None and now - last < self.interval:
            return

        def work(executor):
            self.store.seen(executor, user_id, utcnow())
            executor.after_commit(lambda: self._remember(user_id, now))

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


def services(components):
    seen_users, counts = components.users, components.counts
    authenticate = RegistryService("authenticate", "/api/authenticate", "users")
    users_count = RegistryService("user_count", "/api/users/count", "users")

    def whoami(request):
        # Every time: a service VM calls this when its user logs in.
        owner = request.validated["owner"]
        seen_users.seen(request, owner, always=True)
        return success(200, AUTHENTICATED, [{"id": owner}])

    def count_users(request):
        return success(200, COUNTED, {"count": str(counts.users(request)["count"])})

    authenticate.add_view("GET", whoami, operation=Operation(
        "authenticate", 200, AUTHENTICATED, "AuthenticatedAnswer",
        {"type": "array", "minItems": 1, "maxItems": 1, "items": component_ref("UserId")}, token=True,
        conditional=True))
    users_count.add_view("GET", count_users, operation=Operation(
        "count_users", 200, COUNTED, "UserCountAnswer", component_ref("UserCount"), conditional=True))
    return [authenticate, users_count]
