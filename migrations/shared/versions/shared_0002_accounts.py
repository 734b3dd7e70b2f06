"""Users, memberships, server-side sessions, used single-use tokens.

Revision ID: shared_0002
Revises: shared_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0002"
down_revision = "shared_0001"
branch_labels = None
depends_on = None

S = "shared"


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
        schema=S,
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("location_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("organisation", sa.String(160), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "role IN ('parent', 'referrer', 'provider_staff', 'coordinator', 'admin')",
            name="ck_memberships_role"),
        sa.CheckConstraint(
            "(role IN ('provider_staff', 'coordinator')) = (tenant_id IS NOT NULL)",
            name="ck_memberships_tenant_scope"),
        sa.ForeignKeyConstraint(["user_id"], [f"{S}.users.id"], name="fk_memberships_user_id_users", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_memberships_tenant_id_tenants", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_memberships"),
        schema=S,
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"], schema=S)
    op.create_index("ix_memberships_tenant_id", "memberships", ["tenant_id"], schema=S)
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("login_id", sa.Uuid(), nullable=True),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], [f"{S}.users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash", name="pk_sessions"),
        schema=S,
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"], schema=S)
    op.create_index("ix_sessions_login_id", "sessions", ["login_id"], schema=S)
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"], schema=S)
    op.create_table(
        "used_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_used_tokens"),
        schema=S,
    )
    op.create_index("ix_used_tokens_used_at", "used_tokens", ["used_at"], schema=S)


def downgrade():
    for table in ("used_tokens", "sessions", "memberships", "users"):
        op.drop_table(table, schema=S)
