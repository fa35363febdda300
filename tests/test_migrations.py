"""The Alembic migrations: 0002 counts the records stored before it."""

from sqlalchemy import create_engine, text

from lambda_registry.migrate import alembic_config, upgrade


def test_owner_counters_are_backfilled_from_existing_records(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    command.upgrade(alembic_config(url), "0001")
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
            text("SELECT owner, status, records FROM lambda_instance_owner_counts ORDER BY owner, status")
        ).all()
    assert [tuple(row) for row in rows] == [("alice", 0, 2), ("alice", 20, 1), ("bob", 6, 1)]
