"""The records, their status history and the status counters.

Revision ID: 0001
Revises:
"""

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUS_CODES = range(24)


def upgrade():
    op.create_table(
        "lambda_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("instance_info", sa.Text(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("failure_message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lambda_instances"),
        sa.UniqueConstraint("owner", "uuid", name="uq_lambda_instances_owner_uuid"),
    )
    op.create_index(
        "ix_lambda_instances_owner_created",
        "lambda_instances",
        ["owner", "created_at", "uuid"],
    )
    op.create_index("ix_lambda_instances_owner_status", "lambda_instances", ["owner", "status"])
    op.create_table(
        "lambda_instance_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("failure_message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["lambda_instances.id"],
            name="fk_lambda_instance_status_changes_instance_id_lambda_instances",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lambda_instance_status_changes"),
    )
    op.create_index(
        "ix_lambda_instance_status_changes_instance",
        "lambda_instance_status_changes",
        ["instance_id", "id"],
    )
    counts = op.create_table(
        "lambda_instance_status_counts",
        sa.Column("status", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("status", name="pk_lambda_instance_status_counts"),
    )
    op.bulk_insert(counts, [{"status": code, "records": 0} for code in STATUS_CODES])


def downgrade():
    op.drop_table("lambda_instance_status_counts")
    op.drop_index("ix_lambda_instance_status_changes_instance", "lambda_instance_status_changes")
    op.drop_table("lambda_instance_status_changes")
    op.drop_index("ix_lambda_instances_owner_status", "lambda_instances")
    op.drop_index("ix_lambda_instances_owner_created", "lambda_instances")
    op.drop_table("lambda_instances")
