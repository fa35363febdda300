"""The daily series: each count change's day, and what the records of each status changed by per day.

Changes not folded yet when this runs keep no day: they are already in the
histories, from which this migration rebuilds what each day changed, for
every record the registry still holds. (Records it no longer holds, an
application deleted or an instance purged, left no history: the days
before this migration show the records that are still here.)

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Each kind's table names: records' history, and its key.
KINDS = {"lambda_instance": "instance_id", "lambda_application": "application_id"}


def upgrade():
    dialect = op.get_bind().dialect.name
    day_of = (lambda column: f"date({column})") if dialect == "sqlite" else (lambda column: f"CAST({column} AS DATE)")
    for name, key in KINDS.items():
        daily, history = name + "_daily_counts", name + "_status_changes"
        op.add_column(name + "_count_changes", sa.Column("day", sa.Date(), nullable=True))
        op.create_table(
            daily,
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("status", sa.SmallInteger(), autoincrement=False, nullable=False),
            sa.Column("record_count", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("day", "status", name=f"pk_{daily}"),
        )
        # Each history entry: +1 to its status on its day, -1 to the status before it.
        op.execute(f"""
            INSERT INTO {daily} (day, status, record_count)
            SELECT day, status, sum(delta) FROM (
                SELECT {day_of("at")} AS day, status, 1 AS delta FROM {history}
                UNION ALL
                SELECT {day_of("at")}, previous, -1 FROM (
                    SELECT at, lag(status) OVER (PARTITION BY {key} ORDER BY id) AS previous FROM {history}
                ) AS entries WHERE previous IS NOT NULL
            ) AS changes
            WHERE true GROUP BY day, status HAVING sum(delta) <> 0""")


def downgrade():
    for name in KINDS:
        op.drop_table(name + "_daily_counts")
        op.drop_column(name + "_count_changes", "day")
