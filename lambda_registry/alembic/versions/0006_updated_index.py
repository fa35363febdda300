"""Each owner's records by updated_at: the lists' ?updated_after= reads only what changed.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("lambda_instances", "lambda_applications")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_owner_updated", table, ["owner", "updated_at"])


def downgrade():
    for table in TABLES:
        op.drop_index(f"ix_{table}_owner_updated", table_name=table)
