"""Counter changes: what each write changed in the counts, folded into the totals now and then.

The totals (status_counts, owner_counts) keep what they hold: a database
migrated here counts exactly what it counted before, and its writes from
now on append their changes instead of updating the totals' rows.

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Each kind's table, with the kind's summed fields.
KINDS = {"lambda_instance": (), "lambda_application": ("times_started",)}


def upgrade():
    for name, summed in KINDS.items():
        table = name + "_count_changes"
        op.create_table(
            table,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("owner", sa.String(length=255), nullable=False),
            sa.Column("status", sa.SmallInteger(), nullable=False),
            sa.Column("record_count", sa.BigInteger(), nullable=False),
            *[sa.Column(field, sa.BigInteger(), nullable=False) for field in summed],
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        )
        op.create_index(f"ix_{table}_owner_status", table, ["owner", "status"])


def downgrade():
    # Fold what is not folded yet, so that the totals alone are exact again.
    for name, summed in KINDS.items():
        changes, totals, owned = name + "_count_changes", name + "_status_counts", name + "_owner_counts"
        counted = ["record_count", *summed]
        op.execute(
            f"INSERT INTO {totals} (status, {', '.join(counted)}) "
            f"SELECT status, {', '.join(f'sum({c})' for c in counted)} FROM {changes} WHERE true GROUP BY status "
            f"ON CONFLICT (status) DO UPDATE SET {', '.join(f'{c} = {totals}.{c} + excluded.{c}' for c in counted)}"
        )
        op.execute(
            f"INSERT INTO {owned} (owner, status, record_count) SELECT owner, status, sum(record_count) "
            f"FROM {changes} WHERE true GROUP BY owner, status "
            f"ON CONFLICT (owner, status) DO UPDATE SET record_count = {owned}.record_count + excluded.record_count"
        )
        op.drop_index(f"ix_{changes}_owner_status", table_name=changes)
        op.drop_table(changes)
