"""Every query about records, for any kind of record; each has an index behind it.

``db`` is what ``Database.read`` or ``Database.write`` handed the caller;
both take ``Statement`` objects, compiled once per dialect (reads run them
on the driver, writes through their Core connection's ``exec_driver_sql``,
a host's session as Core clauses). Statements are built once, when a
kind's ``RecordStore`` is made.
"""

import collections

import colander
from sqlalchemy import bindparam, delete, select, update

from .statements import Statement
from .tables import tables_of
from .counters import UPSERTS, Counters


def _values(names):
    return {name: bindparam("v_" + name) for name in names}


class RecordStore:
    def __init__(self, kind):
        self.kind = kind
        self.counters = Counters(kind)
        tables = tables_of(kind)
        records, history = tables.records, tables.history
        key = history.c[kind.history_key]
        answer = [records.c[name] for name in kind.answer_columns]
        stored = ["owner", "uuid"] + [field.name for field in kind.fields] + ["created_at", "updated_at"]
        self._create = Statement({
            name: insert(records).values(_values(stored)).on_conflict_do_nothing(index_elements=["owner", "uuid"])
            .returning(records.c.id)
            for name, insert in UPSERTS.items()
        })
        owned_uuid = (records.c.owner == bindparam("owner"), records.c.uuid == bindparam("uuid"))
        # What a change reads: locked until the transaction ends, so that
        # concurrent changes of one record take turns and each sees the
        # status the previous one committed (SQLite writers are serialised
        # by BEGIN IMMEDIATE).
        self._lock = Statement(
            select(records.c.id, records.c.status, records.c.failure_message, *[records.c[s] for s in kind.summed])
            .where(*owned_uuid)
            .with_for_update()
        )
        self._Locked = collections.namedtuple("Locked", [column.name for column in self._lock.columns])
        self._set_status = Statement(
            update(records).where(records.c.id == bindparam("record_id"))
            .values(_values(["status", "failure_message", "updated_at"]))
        )
        self._add_history = Statement(history.insert().values(
            {kind.history_key: bindparam("record_id"), **_values(["status", "failure_message"]), "at": bindparam("v_updated_at")}
        ))
        self._delete = Statement(delete(records).where(records.c.id == bindparam("record_id")))
        self._add_to = {
            field: Statement(
                update(records).where(records.c.id == bindparam("record_id"))
                .values({field: records.c[field] + bindparam("delta"), "updated_at": bindparam("v_updated_at")})
                .returning(records.c[field])
            )
            for field in kind.summed
        }
        # A record and its history in one statement: one round trip, one snapshot.
        self._details = Statement(
            select(*answer, history.c.status, history.c.failure_message, history.c.at)
            .select_from(records.outerjoin(history, key == records.c.id))
            .where(*owned_uuid)
            .order_by(history.c.id)
        )
        page = (
            select(*answer)
            .where(records.c.owner == bindparam("owner"))
            .order_by(records.c.created_at, records.c.uuid)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )
        self._page = Statement(page)
        self._page_by_status = Statement(page.where(records.c.status.in_(bindparam("statuses", expanding=True))))
        self._answer_width = len(answer)
        self._defaults = {field.name: field.missing for field in kind.fields if field.missing is not colander.required}

    # -- writes ---------------------------------------------------------------
    def create(self, db, owner, values, now):
        """Store a new record (``values``: its uuid and fields; a field left
        out takes its declared default); False when the owner already has
        this uuid.

        The unique (owner, uuid) constraint decides, not a prior look-up, so
        two concurrent creates of one uuid store one record and the other is
        told so.
        """
        values = {**self._defaults, **values}
        stored = {"v_owner": owner, "v_created_at": now, "v_updated_at": now}
        stored.update({"v_" + name: value for name, value in values.items()})
        created = db.first(self._create, stored)
        if created is None:
            return False
        status = values["status"]
        self._history(db, created[0], status, values["failure_message"], now)
        self.counters.change(db, owner, {status: (1, {name: values[name] for name in self.kind.summed})})
        return True

    def lock(self, db, owner, uuid):
        """The owner's record (id, status, failure_message, summed fields...), locked, or None."""
        row = db.first(self._lock, {"owner": owner, "uuid": uuid})
        return None if row is None else self._Locked._make(row)

    def change_status(self, db, owner, locked, status, failure_message, now):
        """Give a locked record a new status; False when it already had this
        status and message (service VMs retry): nothing changes then."""
        if (locked.status, locked.failure_message) == (status, failure_message):
            return False
        if locked.status != status:
            sums = {name: getattr(locked, name) for name in self.kind.summed}
            self.counters.change(db, owner, {
                locked.status: (-1, {name: -value for name, value in sums.items()}),
                status: (1, sums),
            })
        db.execute(self._set_status, {"record_id": locked.id, "v_status": status, "v_failure_message": failure_message,
                                      "v_updated_at": now})
        self._history(db, locked.id, status, failure_message, now)
        return True

    def add_to(self, db, owner, locked, field, delta, now):
        """Add ``delta`` to a summed field of a locked record (and to its
        status's total); the new value. No history: the status is unchanged."""
        self.counters.change(db, owner, {locked.status: (0, {field: delta})})
        row = db.first(self._add_to[field], {"record_id": locked.id, "delta": delta, "v_updated_at": now})
        return row[0]

    def delete(self, db, owner, locked):
        """Remove a locked record and its history; its counts go with it."""
        sums = {name: -getattr(locked, name) for name in self.kind.summed}
        self.counters.change(db, owner, {locked.status: (-1, sums)})
        db.execute(self._delete, {"record_id": locked.id})

    def _history(self, db, record_id, status, failure_message, now):
        db.execute(self._add_history, {"record_id": record_id, "v_status": status, "v_failure_message": failure_message,
                                       "v_updated_at": now})

    # -- reads ----------------------------------------------------------------
    def details(self, db, owner, uuid):
        """(record row, [history rows]) of the owner's record, or None."""
        rows = db.rows(self._details, {"owner": owner, "uuid": uuid})
        if not rows:
            return None
        width = self._answer_width
        return rows[0][:width], [row[width:] for row in rows if row[width + 2] is not None]

    def page(self, db, owner, statuses, limit, offset):
        """A page of the owner's records (rows for ``kind.answer``), oldest first, ties by uuid."""
        parameters = {"owner": owner, "limit": limit, "offset": offset}
        if statuses is None:
            return db.rows(self._page, parameters)
        parameters["statuses"] = statuses
        return db.rows(self._page_by_status, parameters)
