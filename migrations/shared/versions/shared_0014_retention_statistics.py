"""Retention and statistics: when an account was last logged into and warned as unused; the
anonymous record per application and the daily snapshot of demand against free places.

Revision ID: shared_0014
Revises: shared_0013
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0014"
down_revision = "shared_0013"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.add_column("users", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    op.add_column("users", sa.Column("unused_warned_at", sa.DateTime(timezone=True), nullable=True), schema=S)
    # Logins were not recorded before: count every existing account as used today, so nobody is
    # warned for years they may well have used it in (the safe side; the count starts now).
    op.execute(f"UPDATE {S}.users SET last_login_at = now() WHERE deleted_at IS NULL")  # noqa: S608 — a constant schema

    op.create_table(
        "statistics_applications",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("home_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("age_group", sa.String(8), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("submitted_month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("request_status", sa.String(12), nullable=False),
        sa.Column("closed_month", sa.Date(), nullable=True),
        sa.Column("first_answer_days", sa.Integer(), nullable=True),
        sa.Column("placed_days", sa.Integer(), nullable=True),
        sa.Column("vulnerable", sa.Boolean(), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.Column("recorded_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], ondelete="CASCADE",
                                name="fk_statistics_applications_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["home_tenant_id"], [f"{S}.tenants.id"], ondelete="SET NULL",
                                name="fk_statistics_applications_home_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("application_id", name="pk_statistics_applications"),
        schema=S,
    )
    op.create_index("ix_statistics_applications_tenant_id_submitted_month", "statistics_applications",
                    ["tenant_id", "submitted_month"], schema=S)
    op.create_index("ix_statistics_applications_request_id", "statistics_applications", ["request_id"], schema=S)

    op.create_table(
        "statistics_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("age_group", sa.String(8), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("offered", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("free_places", sa.Integer(), nullable=False),
        sa.Column("waiting_from_elsewhere", sa.Integer(), nullable=False),
        sa.Column("waiting_vulnerable", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], ondelete="CASCADE",
                                name="fk_statistics_daily_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("day", "tenant_id", "location_id", "month", "age_group", name="pk_statistics_daily"),
        schema=S,
    )
    op.create_index("ix_statistics_daily_tenant_id_day", "statistics_daily", ["tenant_id", "day"], schema=S)


def downgrade():
    op.drop_table("statistics_daily", schema=S)
    op.drop_table("statistics_applications", schema=S)
    op.drop_column("users", "unused_warned_at", schema=S)
    op.drop_column("users", "last_login_at", schema=S)
