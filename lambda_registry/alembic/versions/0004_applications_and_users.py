"""Lambda applications (records, history, counters), the users seen, named counters.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROW = "lambda_application"
TABLE = ROW + "s"
HISTORY = ROW + "_status_changes"


def not_null(name, type_, **options):
    return sa.Column(name, type_, nullable=False, **options)


def upgrade():
    text = sa.Text()
    op.create_table(
        TABLE,
        *[not_null(name, type_) for name, type_ in [
            ("id", sa.Integer()), ("owner", sa.String(length=255)), ("uuid", sa.String(length=36)),
            ("name", sa.String(length=100)), ("description", text), ("status", sa.SmallInteger()),
            ("failure_message", text),
        ]],
        not_null("times_started", sa.BigInteger(), server_default="0"),
        not_null("created_at", sa.DateTime()),
        not_null("updated_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
        sa.UniqueConstraint("owner", "uuid", name=f"uq_{TABLE}_owner_uuid"),
    )
    op.create_index(f"ix_{TABLE}_owner_created", TABLE, ["owner", "created_at", "uuid"])
    op.create_index(f"ix_{TABLE}_owner_status", TABLE, ["owner", "status"])
    op.create_table(
        HISTORY,
        not_null("id", sa.Integer()),
        not_null("application_id", sa.Integer()),
        not_null("status", sa.SmallInteger()),
        not_null("failure_message", text),
        not_null("at", sa.DateTime()),
        sa.ForeignKeyConstraint(["application_id"], [f"{TABLE}.id"], name=f"fk_{HISTORY}_application", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{HISTORY}"),
    )
    op.create_index(f"ix_{HISTORY}_application", HISTORY, ["application_id", "id"])
    counters = {
        f"{ROW}_status_counts": [("times_started", sa.BigInteger())],
        f"{ROW}_owner_counts": [("owner", sa.String(length=255))],
    }
    for table, extra in counters.items():
        keys = ["owner", "status"] if table.endswith("owner_counts") else ["status"]
        op.create_table(
            table,
            not_null("status", sa.SmallInteger(), autoincrement=False),
            not_null("record_count", sa.BigInteger()),
            *[not_null(name, type_) for name, type_ in extra],
            sa.PrimaryKeyConstraint(*keys, name=f"pk_{table}"),
        )
    op.create_table(
        "lambda_users",
        not_null("user_id", sa.String(length=255)),
        not_null("first_seen", sa.DateTime()),
        not_null("last_seen", sa.DateTime()),
        sa.PrimaryKeyConstraint("user_id", name="pk_lambda_users"),
    )
    op.create_table(
        "lambda_counters",
        not_null("name", sa.String(length=50)),
        not_null("value", sa.BigInteger()),
        sa.PrimaryKeyConstraint("name", name="pk_lambda_counters"),
    )


def downgrade():
    for table in ["lambda_counters", "lambda_users", f"{ROW}_owner_counts", f"{ROW}_status_counts", HISTORY, TABLE]:
        op.drop_table(table)  # their indexes go with them
