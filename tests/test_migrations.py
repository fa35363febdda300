"""The Alembic migrations: the schema they build is the one the code declares,
and records stored before a revision are counted by it."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from lambda_registry.storage.tables import metadata
from lambda_registry.storage.migrate import upgrade


def test_the_migrations_build_exactly_the_declared_tables(dbengine):
    """``dbengine``'s schema was built by every migration (on SQLite and
    PostgreSQL): it must not differ from ``db/tables.py`` in any table,
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
