"""The record store on a real write transaction, rolled back at the end."""

import datetime

import pytest

from lambda_registry.counts import instance_figures
from lambda_registry.model.kinds import INSTANCES
from lambda_registry.model.statuses import DESTROYED
from lambda_registry.storage.record_store import RecordStore

from .support import OTHER_UUID, UUID


@pytest.fixture
def store(counts):
    return RecordStore(INSTANCES, counts)


def create(store, executor, owner="alice", uuid=UUID, status=2):
    values = {"uuid": uuid, "name": "name", "instance_info": "{}", "status": status, "failure_message": ""}
    return store.create(executor, owner, values)


def change(store, executor, status, owner="alice", uuid=UUID, message=""):
    return store.change_status(executor, owner, store.lock(executor, owner, uuid), status, message)


def test_create_is_decided_by_the_unique_constraint(store, writer):
    assert create(store, writer) is not None
    assert create(store, writer) is None
    assert create(store, writer, owner="bob") is not None
    assert store.owned(writer, "alice") == 1
    assert store.owned(writer, "bob") == 1


def test_change_status_reports_real_changes_only(store, writer):
    create(store, writer)
    assert change(store, writer, 2) is None  # what it already has
    changed = change(store, writer, 10)
    assert changed is not None
    again = store.lock(writer, "alice", UUID)
    assert (again.status, again.failure_message, again.updated_at) == (10, "", changed)
    _, history = store.details(writer, "alice", UUID)
    assert [entry.history_status for entry in history] == [2, 10]


def test_lookups_are_scoped_to_the_owner(store, writer):
    create(store, writer)
    assert store.details(writer, "bob", UUID) is None
    assert store.lock(writer, "bob", UUID) is None
    assert store.details(writer, "alice", UUID)[0].uuid == UUID


def test_counters_follow_each_change(store, writer, counts):
    create(store, writer, status=0)
    create(store, writer, uuid=OTHER_UUID, status=21)
    change(store, writer, DESTROYED)
    public = counts.kinds[INSTANCES.key].public(writer)
    assert instance_figures(public) == {"count": 0, "running": 0, "created": 2, "failed": 1}
    assert store.owned(writer, "alice", [DESTROYED]) == 1
    assert [row.uuid for row in store.page(writer, "alice", [21], 10, 0)] == [OTHER_UUID]


def test_delete_removes_the_record_its_history_and_its_count(store, writer, counts):
    create(store, writer, status=0)
    store.delete(writer, "alice", store.lock(writer, "alice", UUID))
    assert store.details(writer, "alice", UUID) is None
    assert instance_figures(counts.kinds[INSTANCES.key].public(writer))["created"] == 0
    assert store.owned(writer, "alice") == 0
    assert create(store, writer, status=0) is not None  # the uuid may be registered again


def test_a_change_is_stamped_after_the_records_previous_time_whatever_the_clock(counts, writer):
    """A clock that steps back (or stands still) still gives each change a later time."""
    moment = datetime.datetime(2026, 6, 1, 12, 0, 0)
    times = iter([moment, moment - datetime.timedelta(seconds=5), moment])
    store = RecordStore(INSTANCES, counts, clock=lambda: next(times))
    create(store, writer)
    change(store, writer, 10)
    change(store, writer, 12)
    _, history = store.details(writer, "alice", UUID)
    stamps = [entry.history_at for entry in history]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3, stamps
    assert stamps == ["2026-06-01T12:00:00.000000Z", "2026-06-01T12:00:00.000001Z", "2026-06-01T12:00:00.000002Z"]


def test_nothing_outlives_the_rolled_back_transaction(store, writer, query):
    create(store, writer)
    writer.connection.rollback()
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0
