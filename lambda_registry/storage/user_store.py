"""The users the registry has seen with a valid token: their ids, and when."""

from sqlalchemy import bindparam, update

from .statements import Statement
from .tables import USERS
from .counters import UPSERTS, NamedCounters

USERS_COUNTER = "users"


class UserStore:
    def __init__(self):
        self.counters = NamedCounters()
        seen = {"user_id": bindparam("v_user_id"), "first_seen": bindparam("v_now"), "last_seen": bindparam("v_now")}
        self._add = Statement({
            name: insert(USERS).values(seen).on_conflict_do_nothing(index_elements=["user_id"]).returning(USERS.c.user_id)
            for name, insert in UPSERTS.items()
        })
        self._touch = Statement(
            update(USERS).where(USERS.c.user_id == bindparam("v_user_id")).values(last_seen=bindparam("v_now"))
        )

    def seen(self, db, user_id, now):
        """Note that ``user_id`` was seen ``now``; True if it is a new user
        (counted then, in the same transaction: a race of two first
        requests counts one user)."""
        parameters = {"v_user_id": user_id, "v_now": now}
        if db.first(self._add, parameters) is not None:
            self.counters.add(db, USERS_COUNTER, 1)
            return True
        db.execute(self._touch, parameters)
        return False

    def count(self, db):
        return self.counters.value(db, USERS_COUNTER)
