"""The changes feed's storage: where each change stands, the tombstones of
deleted records, and what a follower may read (SPEC.md "Changes").

- **A position per change.** Every write of a record stores its
  ``change_position``: on PostgreSQL the writing transaction's id
  (``pg_current_xact_id()``), on SQLite the database's change counter, which
  each write transaction increments once (``take_position``). A deleted
  record leaves a tombstone (owner, uuid, position). A follower reads what
  lies after its cursor, ordered by (position, uuid).
- **Why not a timestamp, or a sequence.** Both are taken while a
  transaction runs, and transactions commit in another order: a follower
  that moved past a value would never see a change committed a moment later
  with a smaller one. So an answer only goes up to a **horizon**
  (``ready_below``): every transaction below it has ended, and every
  transaction that could still write is at or above it.

  - PostgreSQL: the oldest transaction still running **in this database**
    (from the reading statement's own snapshot, ``pg_current_snapshot()``;
    other databases' transactions are left out through
    ``pg_stat_activity``, since ``pg_snapshot_xmin`` is cluster-wide and a
    session idle in a transaction next door would hold every answer back),
    else the snapshot's ``xmax``. A transaction is only left out when it
    is *known* to belong to another database: one that ended meanwhile, or
    whose session is not shown, counts as ours, which can only delay a
    change, never skip it. New transactions get ids at or above ``xmax``.
  - SQLite: writers are serialised by the database lock, and each takes
    the counter inside it, so positions are taken in commit order and a
    reader sees exactly the changes up to the counter it reads.

  No shared row is added to PostgreSQL's writes (a transaction id costs
  nothing); SQLite's counter row is written by writers that take turns
  anyway.
- **Live.** On PostgreSQL each process tells the others of its commits
  with ``NOTIFY`` on ``CHANNEL`` (payload: kind and owner), sent once the
  write has committed, by a connection of its own (``listener.py``). Not
  from the writing transaction: PostgreSQL serialises the commits of every
  transaction that sent a NOTIFY on one lock, held through the commit's WAL
  flush (seen as ``Lock:object`` in ``pg_stat_activity``: a shared hot
  spot for all writers, docs/benchmarks-changes-postgresql.md).
- **Forgetting.** The purge command removes tombstones older than
  ``lambda_registry.changes.tombstone_days`` and remembers, per owner and
  kind, below which position it did (``FORGOTTEN_DELETIONS``): a cursor of
  that owner below it may have missed a deletion, and is answered 410.
- **Cursors.** An answer's cursor is its last entry's place, or the
  ``since`` it was given when it has none (SPEC.md): a follower with
  nothing new keeps its cursor, and its polls keep their ETag.
"""

import dataclasses

from sqlalchemy import BigInteger, DateTime, String, bindparam, cast, exists, false, null, select, text, true, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..model.kinds import KINDS
from .statements import Statement
from .tables import COUNTERS, FORGOTTEN_DELETIONS, tables_of

CHANNEL = "lambda_registry_changes"
POSITION = "changes.position"  # SQLite's change counter


def _bigint(expression):
    # xid8 has no cast to bigint; its text always fits one.
    return f"CAST(CAST({expression} AS TEXT) AS BIGINT)"


# The position of the transaction that runs the statement.
CURRENT_POSITION = {
    "postgresql": _bigint("pg_current_xact_id()"),
    "sqlite": f"(SELECT value FROM {COUNTERS.name} WHERE name = '{POSITION}')",
}
# The positions a change may take from now on start here (an upper bound of every cursor).
NEXT_POSITION = {
    "postgresql": _bigint("pg_snapshot_xmax(pg_current_snapshot())"),
    "sqlite": f"(SELECT coalesce(max(value), 0) + 1 FROM {COUNTERS.name} WHERE name = '{POSITION}')",
}
# Below it, every transaction has ended: a change there is final and visible.
READY_BELOW = {
    "postgresql": f"""(SELECT least(
        {_bigint("pg_snapshot_xmax(snapshot)")},
        {_bigint("pg_current_xact_id_if_assigned()")},
        (SELECT min({_bigint("running")}) FROM pg_snapshot_xip(snapshot) AS running
         WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity AS other
                           WHERE other.datname <> current_database()
                             AND {_bigint("other.backend_xid")} = mod({_bigint("running")}, 4294967296))))
        FROM pg_current_snapshot() AS snapshot)""",
    "sqlite": NEXT_POSITION["sqlite"],
}


class _DialectSQL(FunctionElement):
    """SQL text that differs by dialect (``SQL``: {dialect name: text})."""

    inherit_cache = True
    SQL = {}


class current_position(_DialectSQL):  # noqa: N801 (SQL functions)
    type = BigInteger()
    SQL = CURRENT_POSITION


class next_position(_DialectSQL):  # noqa: N801
    type = BigInteger()
    SQL = NEXT_POSITION


class ready_below(_DialectSQL):  # noqa: N801
    type = BigInteger()
    SQL = READY_BELOW


@compiles(current_position)
@compiles(next_position)
@compiles(ready_below)
def _dialect_sql(element, compiler, **kw):
    return element.SQL[compiler.dialect.name]


def notice_of(kind_key, owner):
    """The payload of a change of ``owner``'s records of a kind (``listener.py`` reads it)."""
    return f"{kind_key} {owner}"


def read_notice(payload):
    """(kind key, owner) of a payload, or None."""
    kind, _, owner = payload.partition(" ")
    return (kind, owner) if owner else None


# SQLite only: on PostgreSQL a transaction's id is its position.
_TAKE_POSITION = Statement(text(f"INSERT INTO {COUNTERS.name} (name, value) VALUES ('{POSITION}', 1) "
                                f"ON CONFLICT (name) DO UPDATE SET value = value + 1"))


def take_position(executor):
    """Before a write of this transaction stores ``current_position()``:
    on SQLite, the next value of the counter, once per transaction."""
    if executor.dialect.name == "sqlite":
        executor.once(POSITION, lambda: executor.execute(_TAKE_POSITION))


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """A place in the feed: changes after it are (position, uuid) > (it)."""

    position: int
    uuid: str = ""


# Before every change: positions are never below 0 (0: the changes made
# before the feed existed), and no uuid is "".
START = Position(0)


class CursorTooOld(Exception):
    """The cursor lies before forgotten tombstones (or after anything this
    database has written: another database's)."""


@dataclasses.dataclass(frozen=True)
class FeedPage:
    rows: list  # for kind.answer (and ``deleted``, ``uuid``), in feed order
    after: Position  # the cursor after them
    more: bool  # more changes are ready now
    held_back: bool  # committed changes wait behind a transaction still running


class ChangeFeed:
    """The statements of one kind's feed and tombstones, built once."""

    def __init__(self, kind, answer_columns):
        self.kind = kind
        tables = tables_of(kind)
        records, tombstones = tables.records, tables.tombstones
        since = tuple_(bindparam("since_position", type_=BigInteger()), bindparam("since_uuid", type_=String()))

        def after(table):
            return tuple_(table.c.change_position, table.c.uuid) > since

        # Each branch in the feed's order, limited, so that an index range
        # scan of (owner, change_position, uuid) feeds it.
        live = (
            select(records.c.change_position.label("position"), *answer_columns, false().label("deleted"))
            .where(records.c.owner == bindparam("owner"), after(records))
            .order_by(records.c.change_position, records.c.uuid)
            .limit(bindparam("limit"))
        ).subquery()
        # A tombstone whose uuid was registered again says nothing: the
        # record does (with a later position).
        registered_again = exists().where(records.c.owner == tombstones.c.owner, records.c.uuid == tombstones.c.uuid)
        gone = (
            select(tombstones.c.change_position.label("position"),
                   # Typed: PostgreSQL would take an untyped NULL of a subquery for text.
                   *[tombstones.c.uuid if column.name == "uuid" else cast(null(), column.type).label(column.name)
                     for column in answer_columns],
                   true().label("deleted"))
            .where(tombstones.c.owner == bindparam("owner"), after(tombstones), ~registered_again)
            .order_by(tombstones.c.change_position, tombstones.c.uuid)
            .limit(bindparam("limit"))
        ).subquery()
        both = select(live).union_all(select(gone)).subquery()
        changed = select(both).order_by(both.c.position, both.c.uuid).limit(bindparam("limit")).subquery()
        forgotten = FORGOTTEN_DELETIONS
        kept_from = (select(forgotten.c.kept_from)
                     .where(forgotten.c.kind == kind.key, forgotten.c.owner == bindparam("owner")).scalar_subquery())
        horizon = select(
            ready_below().label("ready_below"),
            next_position().label("next_position"),
            kept_from.label("kept_from"),
        ).subquery()
        # One statement, one snapshot: the horizon and the rows agree. The
        # horizon comes back even when nothing changed (an outer join).
        self._read = Statement(
            select(horizon, *[changed.c[name] for name in changed.c.keys()])
            .select_from(horizon.outerjoin(changed, true()))
            .order_by(changed.c.position, changed.c.uuid)
        )

    def read(self, executor, owner, since, limit):
        """The owner's next ``limit`` changes after ``since`` (a Position),
        up to the horizon. Raises CursorTooOld."""
        rows = executor.rows(self._read, {"owner": owner, "since_position": since.position,
                                          "since_uuid": since.uuid, "limit": limit + 1})
        horizon = rows[0]
        # From the start, nothing was delivered: no deletion can have been missed.
        if since != START and not (horizon.kept_from or 0) <= since.position <= horizon.next_position:
            raise CursorTooOld()
        changed = [row for row in rows if row.position is not None]
        ready = [row for row in changed if row.position < horizon.ready_below]
        page = ready[:limit]
        after = Position(page[-1].position, page[-1].uuid) if page else since
        return FeedPage(page, after, more=len(ready) > limit, held_back=len(ready) < len(changed))


class TombstoneUpkeep:
    """What the purge command does to tombstones: forget the old ones, and
    remember, per owner, below which position it did."""

    def __init__(self):
        forgotten = FORGOTTEN_DELETIONS.name
        newest = {"postgresql": "greatest", "sqlite": "max"}
        self._forget, self._count = [], []
        for kind in KINDS:
            name = tables_of(kind).tombstones.name
            old = f"FROM {name} WHERE deleted_at < :before"
            remember = {
                dialect: f"INSERT INTO {forgotten} (kind, owner, kept_from) "
                         f"SELECT '{kind.key}', owner, max(change_position) + 1 {old} GROUP BY owner "
                         f"ON CONFLICT (kind, owner) DO UPDATE "
                         f"SET kept_from = {function}({forgotten}.kept_from, excluded.kept_from)"
                for dialect, function in newest.items()
            }
            self._forget.append((
                Statement({dialect: _with_moment(sql) for dialect, sql in remember.items()}),
                Statement(_with_moment(f"DELETE {old}")),
            ))
            self._count.append(Statement(_with_moment(f"SELECT count(*) AS total {old}").columns(total=BigInteger())))

    def count_old(self, executor, before):
        return sum(int(executor.first(statement, {"before": before}).total) for statement in self._count)

    def forget_old(self, executor, before):
        """Remove the tombstones of deletions before ``before``; how many."""
        removed = 0
        for remember, delete in self._forget:
            executor.execute(remember, {"before": before})
            removed += executor.execute(delete, {"before": before})
        return removed


def _with_moment(sql):
    """SQL text whose ``:before`` is a stored timestamp (as SQLAlchemy stores them on SQLite)."""
    return text(sql).bindparams(bindparam("before", type_=DateTime()))
