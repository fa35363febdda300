"""Per-owner status counters, for the list's pagination total.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lambda_instance_owner_counts",
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("status", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "status", name="pk_lambda_instance_owner_counts"),
    )
    # Records stored before this revision are counted once, here.
    op.execute(
        "INSERT INTO lambda_instance_owner_counts (owner, status, records) "
        "SELECT owner, status, count(*) FROM lambda_instances GROUP BY owner, status"
    )


def downgrade():
    op.drop_table("lambda_instance_owner_counts")
