"""The Alembic migrations: the schema they build is the one the code declares,
and records stored before a revision are counted by it (and after going back)."""

import collections
import datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import pytest
from sqlalchemy import create_engine, text
import webtest

from lambda_registry.storage.migrate import downgrade, upgrade
from lambda_registry.storage.tables import metadata

from .support import ALICE, build_app, dispose, new_instance, scratch_database
from bench.common import uuid_for


def test_the_migrations_build_exactly_the_declared_tables(dbengine):
    """``dbengine``'s schema was built by every migration (on SQLite and
    PostgreSQL): it must not differ from ``storage/tables.py`` in any table,
    column, type, nullability, index, unique or foreign key."""
    def ours(name, kind, parents):
        # The example portal's tests add a table of its own to this database.
        return kind != "table" or name in metadata.tables

    with dbengine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_records_stored_before_0002_are_counted_and_keep_their_counts_through_0003(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        for n, (owner, status) in enumerate([("alice", 0), ("alice", 0), ("alice", 20), ("bob", 6)]):
            connection.execute(
                text(
                    "INSERT INTO lambda_instances (owner, uuid, name, instance_info, status, failure_message,"
                    " created_at, updated_at) VALUES (:owner, :uuid, 'n', '{}', :status, '', '2026-01-01', '2026-01-01')"
                ),
                {"owner": owner, "uuid": f"00000000-0000-4000-8000-{n:012d}", "status": status},
            )
    upgrade(url)
    upgrade(url)  # twice is harmless
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT owner, status, record_count FROM lambda_instance_owner_counts ORDER BY owner, status")
        ).all()
    assert [tuple(row) for row in rows] == [("alice", 0, 2), ("alice", 20, 1), ("bob", 6, 1)]


@pytest.fixture
def scratch_url(database_url, tmp_path):
    with scratch_database(database_url, tmp_path) as url:
        yield url


def fill_as_0004_did(url):
    """Records and the counters 0004's code kept beside them (totals only)."""
    engine = create_engine(url)
    instances = [("alice", 0), ("alice", 0), ("alice", 20), ("alice", 6), ("bob", 0), ("bob", 9)]
    applications = [("alice", 0, 2), ("bob", 1, 0)]
    with engine.begin() as connection:
        for table in ("lambda_instance_status_counts", "lambda_instance_owner_counts",
                      "lambda_application_status_counts", "lambda_application_owner_counts"):
            connection.execute(text(f"DELETE FROM {table}"))  # the rows the migrations seeded, at 0
        for n, (owner, status) in enumerate(instances):
            connection.execute(
                text("INSERT INTO lambda_instances (owner, uuid, name, instance_info, status, failure_message,"
                     " created_at, updated_at) VALUES (:owner, :uuid, 'n', '{}', :status, '', :at, :at)"),
                {"owner": owner, "uuid": uuid_for(1, n), "status": status, "at": datetime.datetime(2026, 1, 1, 0, n)},
            )
        for n, (owner, status, started) in enumerate(applications):
            connection.execute(
                text("INSERT INTO lambda_applications (owner, uuid, name, description, failure_message, status,"
                     " times_started, created_at, updated_at) VALUES (:owner, :uuid, 'a', '', '', :status, :started,"
                     " :at, :at)"),
                {"owner": owner, "uuid": uuid_for(2, n), "status": status, "started": started,
                 "at": datetime.datetime(2026, 1, 1, 0, n)},
            )
        for status, number in collections.Counter(status for _, status in instances).items():
            connection.execute(text("INSERT INTO lambda_instance_status_counts (status, record_count) VALUES (:s, :n)"), {"s": status, "n": number})
        for (owner, status), number in collections.Counter(instances).items():
            connection.execute(text("INSERT INTO lambda_instance_owner_counts (owner, status, record_count)"
                               " VALUES (:o, :s, :n)"),
                               {"o": owner, "s": status, "n": number})
        for owner, status, started in applications:
            connection.execute(text("INSERT INTO lambda_application_status_counts (status, record_count, times_started)"
                                    " VALUES (:s, 1, :t)"), {"s": status, "t": started})
            connection.execute(text("INSERT INTO lambda_application_owner_counts (owner, status, record_count)"
                               " VALUES (:o, :s, 1)"),
                               {"o": owner, "s": status})
    engine.dispose()


def figures(testapp):
    return {
        "instances": testapp.get("/api/lambda_instances/count").json["data"],
        "applications": testapp.get("/api/lambda_applications/count").json["data"],
        "alice's instances": testapp.get("/api/lambda_instances/?limit=1", headers=ALICE).json["pagination"]["count"],
    }


def test_a_database_filled_at_0004_counts_the_same_after_0005_and_after_going_back(scratch_url):
    upgrade(scratch_url, "0004")
    fill_as_0004_did(scratch_url)
    upgrade(scratch_url)
    app = build_app(scratch_url, **{"lambda_registry.count_cache_seconds": "0"})
    testapp = webtest.TestApp(app)
    try:
        assert figures(testapp) == {
            "instances": {"count": "4", "running": "3", "created": "6", "failed": "1"},
            "applications": {"count": "1", "running": "2", "failed": "0"},
            "alice's instances": 4,
        }
        # Writes after the migration count as changes beside the old totals ...
        testapp.post_json(f"/api/lambda_instances/{uuid_for(1, 0)}/status/", {"status": "6"}, headers=ALICE, status=202)
        testapp.post_json("/api/lambda_instances/", new_instance(uuid_for(1, 99), status="0"), headers=ALICE, status=202)
        after_writes = figures(testapp)
        assert after_writes["alice's instances"] == 5
        assert after_writes["instances"] == {"count": "4", "running": "3", "created": "7", "failed": "1"}
    finally:
        dispose(app)
    # ... and going back to 0004 folds them into the totals, which alone are then exact.
    downgrade(scratch_url, "0004")
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        totals = dict(connection.execute(text("SELECT status, record_count FROM lambda_instance_status_counts")).all())
        alice = connection.execute(
            text("SELECT sum(record_count) FROM lambda_instance_owner_counts WHERE owner = 'alice'")).scalar_one()
    engine.dispose()
    assert {status: number for status, number in totals.items() if number} == {0: 3, 6: 2, 9: 1, 20: 1}
    assert alice == 5


def test_a_database_filled_at_0006_is_followed_from_the_start_after_0007(scratch_url):
    """The changes feed on a database filled before it: every record and
    count kept, every old record in a follower's first answers, then what
    changes after; and back to 0006 without losing a record."""
    upgrade(scratch_url, "0006")
    fill_as_0004_did(scratch_url)
    upgrade(scratch_url)
    app = build_app(scratch_url, **{"lambda_registry.count_cache_seconds": "0"})
    testapp = webtest.TestApp(app)
    try:
        assert figures(testapp)["instances"] == {"count": "4", "running": "3", "created": "6", "failed": "1"}
        first = testapp.get("/api/lambda_instances/changes", headers=ALICE).json
        listed = testapp.get("/api/lambda_instances/", headers=ALICE).json["data"]
        assert sorted(first["data"], key=lambda record: record["uuid"]) == sorted(listed, key=lambda r: r["uuid"])
        assert len(listed) == 4
        testapp.post_json(f"/api/lambda_instances/{uuid_for(1, 2)}/status/", {"status": "0"}, headers=ALICE, status=202)
        changed = testapp.get("/api/lambda_instances/changes", params={"since": first["changes"]["cursor"]},
                              headers=ALICE).json["data"]
        assert [(record["uuid"], record["status"]) for record in changed] == [(uuid_for(1, 2), "0")]
    finally:
        dispose(app)
    downgrade(scratch_url, "0006")
    engine = create_engine(scratch_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM lambda_instances")).scalar_one() == 6
    engine.dispose()
