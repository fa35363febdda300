"""The users the registry has seen with a valid token: their ids, and when."""

from sqlalchemy import bindparam, update

from .statements import UPSERTS, Statement
from .tables import USERS


class UserStore:
    def __init__(self, counts):
        self.counts = counts
        seen = {"user_id": bindparam("user_id"), "first_seen": bindparam("now"), "last_seen": bindparam("now")}
        self._add = Statement({
            name: upsert(USERS).values(seen).on_conflict_do_nothing(index_elements=["user_id"]).returning(USERS.c.user_id)
            for name, upsert in UPSERTS.items()
        })
        self._touch = Statement(
            update(USERS).where(USERS.c.user_id == bindparam("user_id")).values(last_seen=bindparam("now"))
        )

    def seen(self, executor, user_id, now):
        """Note that ``user_id`` was seen ``now``; True if it is a new user
        (counted then, in the same transaction: a race of two first
        requests counts one user)."""
        parameters = {"user_id": user_id, "now": now}
        if executor.first(self._add, parameters) is not None:
            self.counts.user_added(executor)
            return True
        executor.execute(self._touch, parameters)
        return False
