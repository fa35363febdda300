"""Every query the API makes, in one place; each one has an index behind it."""

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .models import LambdaInstance, OwnerStatusCount, StatusChange, StatusCount, utcnow
from .models.transactions import changed
from .statuses import ACTIVE_CODES, FAILED_CODES, RUNNING

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _bump_counts(dbsession, owner, changes):
    """Apply {status: delta} to the public counters and to the owner's.

    Always in the same order (public rows, then the owner's, each by
    status), so that two writers never lock two counter rows in opposite
    orders.
    """
    changes = {status: delta for status, delta in sorted(changes.items()) if delta}
    for status, delta in changes.items():
        dbsession.execute(
            update(StatusCount)
            .where(StatusCount.status == status)
            .values(records=StatusCount.records + delta)
            .execution_options(synchronize_session=False)
        )
    insert = _INSERTS[dbsession.get_bind().dialect.name]
    for status, delta in changes.items():
        # The owner's first record of a status creates its counter row.
        statement = insert(OwnerStatusCount).values(owner=owner, status=status, records=delta)
        dbsession.execute(
            statement.on_conflict_do_update(
                index_elements=["owner", "status"],
                set_={"records": OwnerStatusCount.records + delta},
            )
        )


def create_instance(dbsession, owner, uuid, name, instance_info, status, failure_message):
    """Store a new record; False when the owner already has this uuid.

    The unique (owner, uuid) constraint decides, not a prior lookup, so two
    concurrent creates of one uuid store one record and the other is told so.
    """
    now = utcnow()
    insert = _INSERTS[dbsession.get_bind().dialect.name]
    new_id = dbsession.execute(
        insert(LambdaInstance)
        .values(
            owner=owner,
            uuid=uuid,
            name=name,
            instance_info=instance_info,
            status=status,
            failure_message=failure_message,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["owner", "uuid"])
        .returning(LambdaInstance.id)
    ).scalar_one_or_none()
    if new_id is None:
        return False
    dbsession.add(
        StatusChange(instance_id=new_id, status=status, failure_message=failure_message, at=now)
    )
    _bump_counts(dbsession, owner, {status: +1})
    changed(dbsession)
    return True


def find_instance(dbsession, owner, uuid, for_update=False):
    if uuid is None:
        return None
    query = select(LambdaInstance).where(LambdaInstance.owner == owner, LambdaInstance.uuid == uuid)
    if for_update:
        # Concurrent updates of one record take turns, so each sees the
        # status the previous one committed (history and counters stay exact).
        query = query.with_for_update()
    return dbsession.execute(query).scalar_one_or_none()


def change_status(dbsession, instance, status, failure_message):
    """Give ``instance`` a new status; True if anything changed.

    Service VMs retry, so posting the status and message the record already
    has changes nothing and adds no history.
    """
    if instance.status == status and instance.failure_message == failure_message:
        return False
    now = utcnow()
    if instance.status != status:
        _bump_counts(dbsession, instance.owner, {instance.status: -1, status: +1})
    instance.status = status
    instance.failure_message = failure_message
    instance.updated_at = now
    dbsession.add(
        StatusChange(instance_id=instance.id, status=status, failure_message=failure_message, at=now)
    )
    changed(dbsession)
    return True


def list_instances(dbsession, owner, statuses, limit, offset):
    query = (
        select(LambdaInstance)
        .where(LambdaInstance.owner == owner)
        .order_by(LambdaInstance.created_at, LambdaInstance.uuid)
        .limit(limit)
        .offset(offset)
    )
    if statuses is not None:
        query = query.where(LambdaInstance.status.in_(statuses))
    return list(dbsession.execute(query).scalars())


def count_owned(dbsession, owner, statuses):
    """The owner's total, from the owner's counters (no scan of the records)."""
    query = select(func.coalesce(func.sum(OwnerStatusCount.records), 0)).where(OwnerStatusCount.owner == owner)
    if statuses is not None:
        query = query.where(OwnerStatusCount.status.in_(statuses))
    return int(dbsession.execute(query).scalar_one())


def history_of(dbsession, instance):
    return list(
        dbsession.execute(
            select(StatusChange)
            .where(StatusChange.instance_id == instance.id)
            .order_by(StatusChange.id)
        ).scalars()
    )


def public_counts(dbsession, statuses=None):
    """The four figures of the public count, from the 24 counter rows."""
    records = dict(dbsession.execute(select(StatusCount.status, StatusCount.records)).all())
    counted = ACTIVE_CODES if statuses is None else statuses
    return {
        "count": sum(records.get(code, 0) for code in counted),
        "running": records.get(RUNNING, 0),
        "created": sum(records.values()),
        "failed": sum(records.get(code, 0) for code in FAILED_CODES),
    }

