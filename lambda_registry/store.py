"""Every query the API makes, in one place; each one has an index behind it.

The statements are SQLAlchemy Core, built once at import with bound
parameters and run on the request session's connection: per request that
skips building statements and the ORM's unit of work, which the profile
showed to be most of a write's cost. The writes' statements go further
(``prepared.Prepared``). Core DML is invisible to zope.sqlalchemy, so every
write marks the session changed itself (``changed``), or the transaction
would roll it back.
"""

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .models import LambdaInstance, OwnerStatusCount, StatusChange, StatusCount, utcnow
from .models.transactions import changed
from .prepared import Prepared
from .statuses import ACTIVE_CODES, FAILED_CODES, RUNNING

INSTANCES = LambdaInstance.__table__
HISTORY = StatusChange.__table__
PUBLIC_COUNTS = StatusCount.__table__
OWNER_COUNTS = OwnerStatusCount.__table__
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

_BUMP_PUBLIC = Prepared(
    update(PUBLIC_COUNTS)
    .where(PUBLIC_COUNTS.c.status == bindparam("b_status"))
    .values(records=PUBLIC_COUNTS.c.records + bindparam("b_delta"))
)
_ADD_HISTORY = Prepared(
    HISTORY.insert().values(
        instance_id=bindparam("b_instance_id"),
        status=bindparam("b_status"),
        failure_message=bindparam("b_message"),
        at=bindparam("b_at", type_=HISTORY.c.at.type),
    )
)
_SET_STATUS = Prepared(
    update(INSTANCES)
    .where(INSTANCES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        failure_message=bindparam("b_message"),
        updated_at=bindparam("b_at", type_=INSTANCES.c.updated_at.type),
    )
)
_FIND = select(INSTANCES).where(INSTANCES.c.owner == bindparam("owner"), INSTANCES.c.uuid == bindparam("uuid"))
# Concurrent updates of one record take turns (PostgreSQL; SQLite writers
# are serialised by BEGIN IMMEDIATE), so each sees the status the previous
# one committed: history and counters stay exact. Only what a change needs.
_LOCK = Prepared(
    select(INSTANCES.c.id, INSTANCES.c.owner, INSTANCES.c.uuid, INSTANCES.c.status, INSTANCES.c.failure_message)
    .where(INSTANCES.c.owner == bindparam("owner"), INSTANCES.c.uuid == bindparam("uuid"))
    .with_for_update()
)
_HISTORY = select(HISTORY).where(HISTORY.c.instance_id == bindparam("instance_id")).order_by(HISTORY.c.id)
_PUBLIC_COUNTS = select(PUBLIC_COUNTS.c.status, PUBLIC_COUNTS.c.records)


def _per_dialect(build):
    """Statements whose SQL differs by dialect (upserts), built once for each."""
    return {name: Prepared(build(insert)) for name, insert in _INSERTS.items()}


_CREATE = _per_dialect(
    lambda insert: insert(INSTANCES)
    .values(
        owner=bindparam("b_owner"),
        uuid=bindparam("b_uuid"),
        name=bindparam("b_name"),
        instance_info=bindparam("b_info"),
        status=bindparam("b_status"),
        failure_message=bindparam("b_message"),
        created_at=bindparam("b_at", type_=INSTANCES.c.created_at.type),
        updated_at=bindparam("b_at", type_=INSTANCES.c.updated_at.type),
    )
    .on_conflict_do_nothing(index_elements=["owner", "uuid"])
    .returning(INSTANCES.c.id)
)
_BUMP_OWNER = _per_dialect(
    lambda insert: insert(OWNER_COUNTS)
    .values(owner=bindparam("b_owner"), status=bindparam("b_status"), records=bindparam("b_delta"))
    .on_conflict_do_update(
        index_elements=["owner", "status"],
        set_={"records": OWNER_COUNTS.c.records + bindparam("b_delta")},
    )
)


def _dialect(connection):
    return connection.dialect.name


def _bump_counts(connection, owner, changes):
    """Apply {status: delta} to the public counters and to the owner's.

    Always in the same order (public rows, then the owner's, each by
    status), so that two writers never lock two counter rows in opposite
    orders. The owner's first record of a status creates its counter row.
    """
    rows = [{"b_owner": owner, "b_status": status, "b_delta": delta} for status, delta in sorted(changes.items()) if delta]
    for row in rows:
        _BUMP_PUBLIC.execute(connection, {"b_status": row["b_status"], "b_delta": row["b_delta"]})
    for row in rows:
        _BUMP_OWNER[_dialect(connection)].execute(connection, row)


def create_instance(dbsession, owner, uuid, name, instance_info, status, failure_message):
    """Store a new record; False when the owner already has this uuid.

    The unique (owner, uuid) constraint decides, not a prior lookup, so two
    concurrent creates of one uuid store one record and the other is told so.
    """
    connection = dbsession.connection()
    now = utcnow()
    created = _CREATE[_dialect(connection)].execute(
        connection,
        {
            "b_owner": owner,
            "b_uuid": uuid,
            "b_name": name,
            "b_info": instance_info,
            "b_status": status,
            "b_message": failure_message,
            "b_at": now,
        },
    ).fetchone()
    if created is None:
        return False
    _ADD_HISTORY.execute(connection, {"b_instance_id": created[0], "b_status": status, "b_message": failure_message, "b_at": now})
    _bump_counts(connection, owner, {status: +1})
    changed(dbsession)
    return True


class Locked:
    """The fields of a locked record that a status change reads."""

    __slots__ = ("id", "owner", "uuid", "status", "failure_message")

    def __init__(self, row):
        self.id, self.owner, self.uuid, self.status, self.failure_message = row


def find_instance(dbsession, owner, uuid):
    """The owner's record (a row) with this uuid, or None."""
    if uuid is None:
        return None
    return dbsession.connection().execute(_FIND, {"owner": owner, "uuid": uuid}).one_or_none()


def lock_instance(dbsession, owner, uuid):
    """The owner's record with this uuid, locked until the transaction ends, or None."""
    if uuid is None:
        return None
    row = _LOCK.execute(dbsession.connection(), {"owner": owner, "uuid": uuid}).fetchone()
    return None if row is None else Locked(row)


def change_status(dbsession, instance, status, failure_message):
    """Give ``instance`` (locked by ``lock_instance``) a new status; True if anything changed.

    Service VMs retry, so posting the status and message the record already
    has changes nothing and adds no history.
    """
    if instance.status == status and instance.failure_message == failure_message:
        return False
    connection = dbsession.connection()
    now = utcnow()
    if instance.status != status:
        _bump_counts(connection, instance.owner, {instance.status: -1, status: +1})
    _SET_STATUS.execute(connection, {"b_id": instance.id, "b_status": status, "b_message": failure_message, "b_at": now})
    _ADD_HISTORY.execute(connection, {"b_instance_id": instance.id, "b_status": status, "b_message": failure_message, "b_at": now})
    changed(dbsession)
    return True


_LIST = (
    select(INSTANCES)
    .where(INSTANCES.c.owner == bindparam("owner"))
    .order_by(INSTANCES.c.created_at, INSTANCES.c.uuid)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_LIST_BY_STATUS = _LIST.where(INSTANCES.c.status.in_(bindparam("statuses", expanding=True)))
_OWNED = select(func.coalesce(func.sum(OWNER_COUNTS.c.records), 0)).where(OWNER_COUNTS.c.owner == bindparam("owner"))
_OWNED_BY_STATUS = _OWNED.where(OWNER_COUNTS.c.status.in_(bindparam("statuses", expanding=True)))


def list_instances(dbsession, owner, statuses, limit, offset):
    """A page of the owner's records, oldest first, ties by uuid."""
    query, parameters = _LIST, {"owner": owner, "limit": limit, "offset": offset}
    if statuses is not None:
        query, parameters["statuses"] = _LIST_BY_STATUS, statuses
    return dbsession.connection().execute(query, parameters).all()


def count_owned(dbsession, owner, statuses):
    """The owner's total, from the owner's counters (no scan of the records)."""
    query, parameters = _OWNED, {"owner": owner}
    if statuses is not None:
        query, parameters["statuses"] = _OWNED_BY_STATUS, statuses
    return int(dbsession.connection().execute(query, parameters).scalar_one())


def history_of(dbsession, instance):
    return dbsession.connection().execute(_HISTORY, {"instance_id": instance.id}).all()


def public_counters(dbsession):
    """{status: records} from the 24 public counter rows."""
    return dict(dbsession.connection().execute(_PUBLIC_COUNTS).all())


def public_counts(records, statuses=None):
    """The four figures of the public count, from the counters."""
    counted = ACTIVE_CODES if statuses is None else statuses
    return {
        "count": sum(records.get(code, 0) for code in counted),
        "running": records.get(RUNNING, 0),
        "created": sum(records.values()),
        "failed": sum(records.get(code, 0) for code in FAILED_CODES),
    }
