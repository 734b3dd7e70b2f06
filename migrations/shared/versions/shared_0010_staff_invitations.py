"""Invitations of provider staff to locations.

An invitation is a pending membership: the coordinator's staff list shows it (invited, expired)
and can resend or cancel it, so it is a row, not only a signed link. The link carries the row's
id and its ``nonce`` (renewed on every resend, so an older link stops working); the token's
``jti`` is consumed on acceptance.

Revision ID: shared_0010
Revises: shared_0009
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0010"
down_revision = "shared_0009"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("location_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_staff_invitations_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], [f"{S}.users.id"], name="fk_staff_invitations_invited_by_users",
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["accepted_by"], [f"{S}.users.id"], name="fk_staff_invitations_accepted_by_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_invitations"),
        schema=S,
    )
    # One open invitation per address and municipality: inviting again renews it.
    op.create_index("ix_staff_invitations_open", "staff_invitations", ["tenant_id", "email"], unique=True,
                    schema=S, postgresql_where=sa.text("accepted_at IS NULL AND cancelled_at IS NULL"))


def downgrade():
    op.drop_index("ix_staff_invitations_open", table_name="staff_invitations", schema=S)
    op.drop_table("staff_invitations", schema=S)
