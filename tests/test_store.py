"""store.py on the models, inside a doomed transaction (nothing is kept)."""

from lambda_registry import store
from lambda_registry.statuses import DESTROYED

from .support import OTHER_UUID, UUID


def create(dbsession, owner="alice", uuid=UUID, status=2):
    return store.create_instance(dbsession, owner, uuid, "name", "{}", status, "")


def test_create_is_decided_by_the_unique_constraint(dbsession):
    assert create(dbsession) is True
    assert create(dbsession) is False
    assert create(dbsession, owner="bob") is True
    assert store.count_owned(dbsession, "alice", None) == 1
    assert store.count_owned(dbsession, "bob", None) == 1


def test_change_status_reports_real_changes_only(dbsession):
    create(dbsession)
    locked = store.lock_instance(dbsession, "alice", UUID)
    assert store.change_status(dbsession, locked, 2, "") is False  # what it already has
    assert store.change_status(dbsession, locked, 10, "") is True
    again = store.lock_instance(dbsession, "alice", UUID)
    assert (again.status, again.failure_message) == (10, "")
    assert [change.status for change in store.history_of(dbsession, again)] == [2, 10]


def test_lookups_are_scoped_to_the_owner(dbsession):
    create(dbsession)
    assert store.find_instance(dbsession, "bob", UUID) is None
    assert store.lock_instance(dbsession, "bob", UUID) is None
    assert store.find_instance(dbsession, "alice", None) is None
    assert store.find_instance(dbsession, "alice", UUID).uuid == UUID


def test_counters_follow_each_change(dbsession):
    create(dbsession, status=0)
    create(dbsession, uuid=OTHER_UUID, status=21)
    store.change_status(dbsession, store.lock_instance(dbsession, "alice", UUID), DESTROYED, "")
    counts = store.public_counts(store.public_counters(dbsession))
    assert counts == {"count": 0, "running": 0, "created": 2, "failed": 1}
    assert store.count_owned(dbsession, "alice", [DESTROYED]) == 1
    assert [row.uuid for row in store.list_instances(dbsession, "alice", [21], 10, 0)] == [OTHER_UUID]


def test_nothing_outlives_the_doomed_transaction(dbsession, tm, query):
    create(dbsession)
    tm.abort()  # what the fixture does after every test
    assert query("SELECT count(*) FROM lambda_instances")[0][0] == 0
