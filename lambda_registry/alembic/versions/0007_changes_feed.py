"""The changes feed: each record's position in it, tombstones, forgotten deletions, SQLite's change counter.

Records stored before this revision keep every field and count; their
position is 0, so a client that follows the feed from the start gets them
in its first answer (in uuid order among themselves), then every change
made from now on.

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAMES = ("lambda_instance", "lambda_application")
# storage/changes.py: SQLite's positions.
POSITION_COUNTER = "changes.position"


def upgrade():
    for name in NAMES:
        table, tombstones = name + "s", name + "_tombstones"
        op.add_column(table, sa.Column("change_position", sa.BigInteger(), nullable=False, server_default=sa.text("0")))
        op.create_index(f"ix_{table}_owner_changed", table, ["owner", "change_position", "uuid"])
        op.create_table(
            tombstones,
            sa.Column("owner", sa.String(length=255), nullable=False),
            sa.Column("uuid", sa.String(length=36), nullable=False),
            sa.Column("change_position", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
            sa.Column("deleted_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("owner", "uuid", name=f"pk_{tombstones}"),
        )
        op.create_index(f"ix_{tombstones}_owner_changed", tombstones, ["owner", "change_position", "uuid"])
        op.create_index(f"ix_{tombstones}_deleted_at", tombstones, ["deleted_at"])
    op.create_table(
        "lambda_forgotten_deletions",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("kept_from", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "owner", name="pk_lambda_forgotten_deletions"),
    )
    op.execute(f"INSERT INTO lambda_counters (name, value) VALUES ('{POSITION_COUNTER}', 0) "
               "ON CONFLICT (name) DO NOTHING")


def downgrade():
    op.execute(f"DELETE FROM lambda_counters WHERE name = '{POSITION_COUNTER}'")
    op.drop_table("lambda_forgotten_deletions")
    for name in NAMES:
        table, tombstones = name + "s", name + "_tombstones"
        op.drop_table(tombstones)
        op.drop_index(f"ix_{table}_owner_changed", table_name=table)
        # SQLite (3.35 and later) drops a column in place: no copy of the
        # table, whose history rows would go with it (ON DELETE CASCADE).
        op.drop_column(table, "change_position")
