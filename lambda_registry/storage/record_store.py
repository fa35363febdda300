"""Every query about records, for any kind of record; each has an index behind it.

Each function takes the executor of a read or a write (``database.py``).
Statements are built once, when a kind's ``RecordStore`` is made, and rows
come back named. Writes keep the record's history and the counts
(``counts.py``) in the same transaction, and take the time *inside the
write's turn*: after the record is locked (a change), or once the write
holds SQLite's lock (a create); a change's time is also always after the
record's previous one. So history order, ``at`` order and ``updated_at``
agree, also under concurrent updates and a clock that steps back.

Every write also stores where it stands in the changes feed
(``changes.py``: ``change_position``), and a delete leaves a tombstone.
"""

import datetime

from sqlalchemy import DateTime, String, bindparam, delete, func, insert, select, text, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..model.kinds import utcnow
from .changes import CURRENT_POSITION, ChangeFeed, current_position, take_position
from .statements import UPSERTS, Statement
from .tables import tables_of

ONE_MICROSECOND = datetime.timedelta(microseconds=1)


class iso_timestamp(FunctionElement):  # noqa: N801 (an SQL function)
    """A stored timestamp as the ISO 8601 text answers show ("...T...Z"),
    made by the database: no parsing into ``datetime`` and back per value."""

    type = String()
    inherit_cache = True


@compiles(iso_timestamp, "sqlite")
def _iso_timestamp_sqlite(element, compiler, **kw):
    # SQLAlchemy stores SQLite timestamps as "YYYY-MM-DD HH:MM:SS.ffffff",
    # or without ".ffffff" when it is 0: the seconds by strftime (which also
    # reads a bare "YYYY-MM-DD"), then the stored microseconds, always six
    # digits as PostgreSQL's (SQLite's own %f has milliseconds).
    value = compiler.process(element.clauses, **kw)
    micro = f"CASE WHEN length({value}) > 19 THEN substr({value}, 20, 7) ELSE '.000000' END"
    return f"(strftime('%Y-%m-%dT%H:%M:%S', {value}) || {micro} || 'Z')"


@compiles(iso_timestamp, "postgresql")
def _iso_timestamp_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _values(names):
    return {name: bindparam(name) for name in names}


class RecordStore:
    def __init__(self, kind, counts, clock=utcnow):
        self.kind = kind
        self.counts = counts
        self.clock = clock
        tables = tables_of(kind)
        records, history = tables.records, tables.history
        # What the server gives a new record beyond the fields of its create.
        self._initial = {field.name: field.missing for field in kind.fields if field.body_type is None}
        stored = ["owner", "uuid"] + [field.name for field in kind.fields] + ["created_at", "updated_at"]
        self._create = Statement({
            name: upsert(records).values({**_values(stored), "change_position": current_position()})
            .on_conflict_do_nothing(index_elements=["owner", "uuid"])
            .returning(records.c.id)
            for name, upsert in UPSERTS.items()
        })
        owned_uuid = (records.c.owner == bindparam("owner"), records.c.uuid == bindparam("uuid"))
        # What a change reads: locked until the transaction ends, so that
        # concurrent changes of one record take turns and each sees what the
        # previous one committed (SQLite writers are serialised by BEGIN IMMEDIATE).
        self._lock = Statement(
            select(records.c.id, records.c.status, records.c.failure_message, records.c.created_at,
                   records.c.updated_at,
                   *[records.c[name] for name in kind.summed])
            .where(*owned_uuid)
            .with_for_update()
        )
        self._set_status = Statement(
            update(records).where(records.c.id == bindparam("record_id"))
            .values({**_values(["status", "failure_message", "updated_at"]), "change_position": current_position()})
        )
        self._add_history = Statement(insert(history).values(
            {kind.history_key: bindparam("record_id"), **_values(["status", "failure_message"]), "at": bindparam("at")}
        ))
        self._delete = _delete_leaving_tombstone(records, tables_of(kind).tombstones)
        self._add_to = {
            field: Statement(
                update(records).where(records.c.id == bindparam("record_id"))
                .values({field: records.c[field] + bindparam("delta"), "updated_at": bindparam("updated_at"),
                         "change_position": current_position()})
                .returning(records.c[field], records.c.updated_at)
            )
            for field in kind.summed
        }
        answer = [
            iso_timestamp(records.c[name]).label(name) if name in ("created_at", "updated_at") else records.c[name]
            for name in kind.answer_columns
        ]
        # A record and its history in one statement: one round trip, one snapshot.
        key = history.c[kind.history_key]
        self._details = Statement(
            select(*answer, history.c.status.label("history_status"),
                   history.c.failure_message.label("history_failure_message"),
                   iso_timestamp(history.c.at).label("history_at"))
            .select_from(records.outerjoin(history, key == records.c.id))
            .where(*owned_uuid)
            .order_by(history.c.id)
        )
        self.feed = ChangeFeed(kind, answer)
        # A page, and how many the owner has, with or without each filter:
        # {(by status, changed after a moment): statement}.
        by_status = records.c.status.in_(bindparam("statuses", expanding=True))
        changed_after = records.c.updated_at > bindparam("updated_after")
        page = (
            select(*answer)
            .where(records.c.owner == bindparam("owner"))
            .order_by(records.c.created_at, records.c.uuid)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )
        # Without the moment, the counts give the total (no scan); with it,
        # only the records changed since are counted (index ix_..._owner_updated).
        changed = select(func.count().label("total")).where(records.c.owner == bindparam("owner"), changed_after)
        self._pages, self._changed = {}, {}
        for filtered in (False, True):
            self._pages[filtered, False] = Statement(page.where(by_status) if filtered else page)
            self._pages[filtered, True] = Statement((page.where(by_status) if filtered else page).where(changed_after))
            self._changed[filtered] = Statement(changed.where(by_status) if filtered else changed)

        # The records a purge removes (scripts/support.py): of one status,
        # unchanged since a moment; locked like a change's, a batch at a time.
        # An operator's command, not the API's: no index of its own (it reads
        # the table once per batch).
        self._stale = Statement(
            select(records.c.id, records.c.owner, records.c.uuid, records.c.status,
                   *[records.c[name] for name in kind.summed])
            .where(records.c.status == bindparam("status"), records.c.updated_at < bindparam("before"))
            .order_by(records.c.id)
            .limit(bindparam("limit"))
            .with_for_update()
        )
        self._count_stale = Statement(
            select(func.count().label("total"))
            .where(records.c.status == bindparam("status"), records.c.updated_at < bindparam("before"))
        )

    def _after(self, previous):
        """Now, or a microsecond after ``previous`` if the clock has not passed it."""
        now = self.clock()
        return now if now > previous else previous + ONE_MICROSECOND

    # -- writes ---------------------------------------------------------------
    def create(self, executor, owner, values):
        """Store a new record (``values``: its uuid and every field a create
        takes); its time (``created_at`` and ``updated_at``), or None when
        the owner already has this uuid.

        The unique (owner, uuid) constraint decides, not a prior look-up, so
        two concurrent creates of one uuid store one record and the other is
        told so.
        """
        values = {**values, **self._initial}
        take_position(executor)
        now = self.clock()
        created = executor.first(self._create, {**values, "owner": owner, "created_at": now, "updated_at": now})
        if created is None:
            return None
        status = values["status"]
        self._history(executor, created.id, status, values["failure_message"], now)
        self.counts.record_changed(executor, self.kind, owner,
                                   {status: (1, {name: values[name] for name in self.kind.summed})}, now.date())
        return now

    def lock(self, executor, owner, uuid):
        """The owner's record (id, status, failure_message, created_at,
        updated_at, summed fields), locked; or None."""
        return executor.first(self._lock, {"owner": owner, "uuid": uuid})

    def change_status(self, executor, owner, locked, status, failure_message):
        """Give a locked record a new status; its new ``updated_at``, or None
        when it already had this status and message (service VMs retry):
        nothing changes then."""
        if (locked.status, locked.failure_message) == (status, failure_message):
            return None
        take_position(executor)
        now = self._after(locked.updated_at)
        if locked.status != status:
            sums = {name: getattr(locked, name) for name in self.kind.summed}
            self.counts.record_changed(executor, self.kind, owner, {
                locked.status: (-1, {name: -value for name, value in sums.items()}),
                status: (1, sums),
            }, now.date())
        executor.execute(self._set_status, {"record_id": locked.id, "status": status,
                                            "failure_message": failure_message, "updated_at": now})
        self._history(executor, locked.id, status, failure_message, now)
        return now

    def add_to(self, executor, owner, locked, field, delta):
        """Add ``delta`` to a summed field of a locked record (and to its
        status's total); the row of its new value and ``updated_at``. No
        history: the status is unchanged."""
        now = self._after(locked.updated_at)
        self.counts.record_changed(executor, self.kind, owner, {locked.status: (0, {field: delta})}, now.date())
        take_position(executor)
        return executor.first(self._add_to[field], {"record_id": locked.id, "delta": delta, "updated_at": now})

    def delete(self, executor, owner, locked):
        """Remove a locked record and its history, leaving its tombstone; its counts go with it."""
        sums = {name: -getattr(locked, name) for name in self.kind.summed}
        now = self.clock()
        self.counts.record_changed(executor, self.kind, owner, {locked.status: (-1, sums)}, now.date())
        take_position(executor)
        parameters = {"record_id": locked.id, "deleted_at": now}
        for statement in self._delete[executor.dialect.name]:
            executor.execute(statement, parameters)

    def _history(self, executor, record_id, status, failure_message, at):
        executor.execute(self._add_history, {"record_id": record_id, "status": status,
                                             "failure_message": failure_message, "at": at})

    def stale(self, executor, status, before, limit):
        """Up to ``limit`` records of every owner with ``status``, unchanged
        since ``before``, locked: rows for ``delete`` (with owner and uuid)."""
        return executor.rows(self._stale, {"status": status, "before": before, "limit": limit})

    def count_stale(self, executor, status, before):
        return int(executor.first(self._count_stale, {"status": status, "before": before}).total)

    # -- reads ----------------------------------------------------------------
    def changes(self, executor, owner, since, limit):
        """The owner's next changes after ``since`` (``changes.FeedPage``)."""
        return self.feed.read(executor, owner, since, limit)

    def details(self, executor, owner, uuid):
        """(the record's row, its history's rows, oldest first) for ``kind.answer``
        and ``kind.history_answer``; None if the owner has no such record."""
        rows = executor.rows(self._details, {"owner": owner, "uuid": uuid})
        if not rows:
            return None
        return rows[0], [row for row in rows if row.history_at is not None]

    def page(self, executor, owner, statuses, limit, offset, updated_after=None):
        """A page of the owner's records (rows for ``kind.answer``), oldest
        first, ties by uuid; of these statuses (None: any), changed after
        ``updated_after`` (None: whenever)."""
        parameters = {"owner": owner, "limit": limit, "offset": offset}
        if statuses is not None:
            parameters["statuses"] = statuses
        if updated_after is not None:
            parameters["updated_after"] = updated_after
        return executor.rows(self._pages[statuses is not None, updated_after is not None], parameters)

    def owned(self, executor, owner, statuses=None, updated_after=None):
        """How many records the owner has (of these statuses, changed after ``updated_after``)."""
        if updated_after is None:
            return self.counts.owned(executor, self.kind, owner, statuses)
        parameters = {"owner": owner, "updated_after": updated_after}
        if statuses is not None:
            parameters["statuses"] = statuses
        return int(executor.first(self._changed[statuses is not None], parameters).total)


def _delete_leaving_tombstone(records, tombstones):
    """{dialect: statements} that remove a record (``:record_id``) and leave
    its tombstone at this transaction's position: one statement on
    PostgreSQL (one round trip)."""

    def sql(dialect, source):
        return (f"INSERT INTO {tombstones.name} (owner, uuid, change_position, deleted_at) "
                f"SELECT owner, uuid, {CURRENT_POSITION[dialect]}, :deleted_at FROM {source} "
                "ON CONFLICT (owner, uuid) DO UPDATE "
                "SET change_position = excluded.change_position, deleted_at = excluded.deleted_at")

    def typed(sql_text):
        return text(sql_text).bindparams(bindparam("deleted_at", type_=DateTime()))

    postgresql = (f"WITH gone AS (DELETE FROM {records.name} WHERE id = :record_id RETURNING owner, uuid) "
                  + sql("postgresql", "gone"))
    return {
        "postgresql": [Statement(typed(postgresql))],
        "sqlite": [
            Statement(typed(sql("sqlite", f"{records.name} WHERE id = :record_id"))),
            Statement(delete(records).where(records.c.id == bindparam("record_id"))),
        ],
    }
