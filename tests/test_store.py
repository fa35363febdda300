"""The record store on a real write transaction, rolled back at the end."""

from lambda_registry.model.kinds import INSTANCES, utcnow
from lambda_registry.services.instances import public_counts
from lambda_registry.model.statuses import DESTROYED
from lambda_registry.storage.record_store import RecordStore

from .support import OTHER_UUID, UUID

STORE = RecordStore(INSTANCES)


def create(db, owner="alice", uuid=UUID, status=2):
    values = {"uuid": uuid, "name": "name", "instance_info": "{}", "status": status, "failure_message": ""}
    return STORE.create(db, owner, values, utcnow())


def change(db, status, owner="alice", uuid=UUID, message=""):
    return STORE.change_status(db, owner, STORE.lock(db, owner, uuid), status, message, utcnow())


def test_create_is_decided_by_the_unique_constraint(writer):
    assert create(writer) is True
    assert create(writer) is False
    assert create(writer, owner="bob") is True
    assert STORE.counters.owned(writer, "alice") == 1
    assert STORE.counters.owned(writer, "bob") == 1


def test_change_status_reports_real_changes_only(writer):
    create(writer)
    assert change(writer, 2) is False  # what it already has
    assert change(writer, 10) is True
    again = STORE.lock(writer, "alice", UUID)
    assert (again.status, again.failure_message) == (10, "")
    _, history = STORE.details(writer, "alice", UUID)
    assert [entry[0] for entry in history] == [2, 10]


def test_lookups_are_scoped_to_the_owner(writer):
    create(writer)
    assert STORE.details(writer, "bob", UUID) is None
    assert STORE.lock(writer, "bob", UUID) is None
    assert STORE.details(writer, "alice", UUID)[0][0] == UUID


def test_counters_follow_each_change(writer):
    create(writer, status=0)
    create(writer, uuid=OTHER_UUID, status=21)
    change(writer, DESTROYED)
    assert public_counts(STORE.counters.public(writer)) == {"count": 0, "running": 0, "created": 2, "failed": 1}
    assert STORE.counters.owned(writer, "alice", [DESTROYED]) == 1
    assert [row[0] for row in STORE.page(writer, "alice", [21], 10, 0)] == [OTHER_UUID]


def test_delete_removes_the_record_its_history_and_its_count(writer, query):
    create(writer, status=0)
    STORE.delete(writer, "alice", STORE.lock(writer, "alice", UUID))
    assert STORE.details(writer, "alice", UUID) is None
    assert public_counts(STORE.counters.public(writer))["created"] == 0
    assert STORE.counters.owned(writer, "alice") == 0
    assert create(writer, status=0) is True  # the uuid may be registered again


def test_nothing_outlives_the_rolled_back_transaction(writer, query):
    create(writer)
    writer.close()  # what the fixture does after every test
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0
