"""The region's figures per municipality and month (``statistics_monthly``), rebuilt from the
records whenever they changed (``statistics_state``); the desk's demand against free places
read from an index alone, and its "figures of" day from another: the dashboards at Flanders scale (bench/figures.py, issue #15).

Revision ID: shared_0022
Revises: shared_0021
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0022"
down_revision = "shared_0021"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "statistics_monthly",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("measure", sa.String(12), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("home_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("month", sa.Date(), nullable=True),
        sa.Column("age_group", sa.String(8), nullable=True),
        sa.Column("status", sa.String(12), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("vulnerable", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_monthly")),
        schema=S,
    )
    op.create_index("ix_statistics_monthly_measure_month", "statistics_monthly", ["measure", "month"], schema=S)
    op.create_table(
        "statistics_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("monthly", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_state")),
        schema=S,
    )
    # Records written before: the first reader (or the next snapshot) builds the monthly figures.
    state = sa.table("statistics_state", sa.column("id"), sa.column("records"), sa.column("monthly"), schema=S)
    op.bulk_insert(state, [{"id": 1, "records": 1, "monthly": -1}])
    op.drop_index("ix_statistics_daily_tenant_id_day", table_name="statistics_daily", schema=S)
    op.create_index("ix_statistics_daily_tenant_id_day", "statistics_daily", ["tenant_id", "day", "month", "age_group"],
                    postgresql_include=["location_id", "waiting", "offered", "free_places"], schema=S)
    op.create_index("ix_statistics_applications_tenant_id_recorded_on", "statistics_applications",
                    ["tenant_id", "recorded_on"], schema=S)


def downgrade():
    op.drop_index("ix_statistics_applications_tenant_id_recorded_on", table_name="statistics_applications", schema=S)
    op.drop_index("ix_statistics_daily_tenant_id_day", table_name="statistics_daily", schema=S)
    op.create_index("ix_statistics_daily_tenant_id_day", "statistics_daily", ["tenant_id", "day"], schema=S)
    op.drop_table("statistics_state", schema=S)
    op.drop_index("ix_statistics_monthly_measure_month", table_name="statistics_monthly", schema=S)
    op.drop_table("statistics_monthly", schema=S)
