"""The tables, derived from the record declarations (``model/kinds.py``).

Alembic's migrations create them; a test holds the two together (the
migrations' result and this metadata must not differ, on both databases).
"""

import dataclasses

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ..model.userids import USER_ID_MAX
from ..model.kinds import KINDS

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclasses.dataclass(frozen=True)
class RecordTables:
    """The six tables of a kind of record."""

    records: Table
    history: Table
    # How many records have each status (and the totals of the kind's summed
    # fields): the public count is polled by every open landing page, and
    # summing a few rows costs the same at a thousand records and at a million.
    status_counts: Table
    # The same per owner: the total of a list's pagination without a scan.
    owner_counts: Table
    # What each write changed in those totals, appended in its transaction
    # and folded into them now and then (counts.py): writers only ever
    # insert, so concurrent writers of different records never wait for
    # each other on a counter row.
    count_changes: Table
    # The records deleted (an application's delete, the purge of destroyed
    # instances), for the changes feed: owner, uuid and where in the feed.
    tombstones: Table
    # What the records of each status changed by, per UTC day: the changes
    # folded with their day (counts.py), for the series of a count by day.
    daily_counts: Table


def _foreign_key_name(kind):
    """The naming convention's name, or a shorter one where it would pass
    PostgreSQL's 63 characters (lambda_application_status_changes)."""
    name = NAMING_CONVENTION["fk"] % {
        "table_name": kind.history_table, "column_0_name": kind.history_key, "referred_table_name": kind.table,
    }
    return name if len(name) <= 63 else f"fk_{kind.history_table}_{kind.key}"


def _record_tables(kind):
    owner = lambda **options: Column("owner", String(USER_ID_MAX), nullable=False, **options)  # noqa: E731
    records = Table(
        kind.table,
        metadata,
        Column("id", Integer, primary_key=True),
        # The identity the auth policy gave (the ~okeanos user id).
        owner(),
        # Lower-case hyphenated; unique per owner only, so that another user
        # may register the same uuid without learning that it exists.
        Column("uuid", String(36), nullable=False),
        *[
            Column(field.name, field.column_type, nullable=False,
                   server_default=None if field.server_default is None else text(field.server_default))
            for field in kind.fields
        ],
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        # Where the record's last change stands in the changes feed
        # (storage/changes.py): its transaction's id on PostgreSQL, the
        # database's change counter on SQLite; 0 for changes made before
        # the feed existed.
        change_position(),
        UniqueConstraint("owner", "uuid", name=f"uq_{kind.table}_owner_uuid"),
        # The owner's list, oldest first, ties by uuid.
        Index(f"ix_{kind.table}_owner_created", "owner", "created_at", "uuid"),
        # The owner's list filtered by status.
        Index(f"ix_{kind.table}_owner_status", "owner", "status"),
        # The owner's records changed since a moment (?updated_after=).
        Index(f"ix_{kind.table}_owner_updated", "owner", "updated_at"),
        # The owner's changes after a cursor, in the feed's order.
        Index(f"ix_{kind.table}_owner_changed", "owner", "change_position", "uuid"),
    )
    history = Table(
        kind.history_table,
        metadata,
        Column("id", Integer, primary_key=True),
        Column(kind.history_key, ForeignKey(records.c.id, ondelete="CASCADE", name=_foreign_key_name(kind)),
               nullable=False),
        Column("status", SmallInteger, nullable=False),
        Column("failure_message", Text, nullable=False),
        Column("at", DateTime, nullable=False),
        Index(f"ix_{kind.history_table}_{kind.key}", kind.history_key, "id"),
    )
    status_counts = Table(
        kind.status_counts_table,
        metadata,
        Column("status", SmallInteger, primary_key=True, autoincrement=False),
        Column("record_count", BigInteger, nullable=False),
        *[Column(name, BigInteger, nullable=False) for name in kind.summed],
    )
    owner_counts = Table(
        kind.owner_counts_table,
        metadata,
        owner(primary_key=True),
        Column("status", SmallInteger, primary_key=True, autoincrement=False),
        Column("record_count", BigInteger, nullable=False),
    )
    count_changes = Table(
        kind.count_changes_table,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        owner(),
        Column("status", SmallInteger, nullable=False),
        Column("record_count", BigInteger, nullable=False),
        *[Column(name, BigInteger, nullable=False) for name in kind.summed],
        # The UTC day of the write (None: a change from before the daily
        # series existed, already in it through the histories).
        Column("day", Date, nullable=True),
        # An owner's unfolded changes, for the total of a list's pagination.
        Index(f"ix_{kind.count_changes_table}_owner_status", "owner", "status"),
    )
    tombstones = Table(
        kind.tombstones_table,
        metadata,
        owner(primary_key=True),
        Column("uuid", String(36), primary_key=True),
        change_position(),
        # When it was deleted: the purge command forgets tombstones older
        # than lambda_registry.changes.tombstone_days.
        Column("deleted_at", DateTime, nullable=False),
        Index(f"ix_{kind.tombstones_table}_owner_changed", "owner", "change_position", "uuid"),
        Index(f"ix_{kind.tombstones_table}_deleted_at", "deleted_at"),
    )
    daily_counts = Table(
        kind.daily_counts_table,
        metadata,
        Column("day", Date, primary_key=True),
        Column("status", SmallInteger, primary_key=True, autoincrement=False),
        Column("record_count", BigInteger, nullable=False),
    )
    return RecordTables(records, history, status_counts, owner_counts, count_changes, tombstones, daily_counts)


def change_position():
    return Column("change_position", BigInteger, nullable=False, server_default=text("0"))


TABLES = {kind.key: _record_tables(kind) for kind in KINDS}


def tables_of(kind):
    return TABLES[kind.key]


# Every user the registry has seen with a valid token: the id only, and when.
USERS = Table(
    "lambda_users",
    metadata,
    Column("user_id", String(USER_ID_MAX), primary_key=True),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
)

# Counts that are not per status (how many users), kept like the others:
# in the transaction that changes what they count; and SQLite's change
# counter, the changes feed's positions there (storage/changes.py).
COUNTERS = Table(
    "lambda_counters",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Each owner's deletions the purge command has forgotten, per kind: a
# changes cursor before ``kept_from`` may have missed one (410). Per owner,
# so that one user's purged deletions never send another user back to a
# full list.
FORGOTTEN_DELETIONS = Table(
    "lambda_forgotten_deletions",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("owner", String(USER_ID_MAX), primary_key=True),
    Column("kept_from", BigInteger, nullable=False),
)
