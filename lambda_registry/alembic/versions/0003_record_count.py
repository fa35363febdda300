"""Counter columns named for what they hold: ``records`` becomes ``record_count``.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("lambda_instance_status_counts", "lambda_instance_owner_counts")


def upgrade():
    for table in TABLES:
        op.alter_column(table, "records", new_column_name="record_count")


def downgrade():
    for table in TABLES:
        op.alter_column(table, "record_count", new_column_name="records")
