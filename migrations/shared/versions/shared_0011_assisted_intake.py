"""Families without e-mail, consent with its method, claim codes.

A family filed at a municipality's desk (assisted intake) names that desk; consent recorded on
the family's behalf says how it was given; a claim code (kept as its SHA-256 only) lets the
family take the dossier over online.

Revision ID: shared_0011
Revises: shared_0010
"""

import sqlalchemy as sa
from alembic import op

revision = "shared_0011"
down_revision = "shared_0010"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.add_column("families", sa.Column("desk_tenant_id", sa.Uuid(), nullable=True), schema=S)
    op.create_foreign_key("fk_families_desk_tenant_id_tenants", "families", "tenants", ["desk_tenant_id"], ["id"],
                          source_schema=S, referent_schema=S, ondelete="SET NULL")
    op.create_index("ix_families_desk_tenant_id", "families", ["desk_tenant_id"], schema=S)
    op.add_column("consents", sa.Column("method", sa.String(20), nullable=True), schema=S)
    op.create_table(
        "claim_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["family_id"], [f"{S}.families.id"], name="fk_claim_codes_family_id_families",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_codes"),
        sa.UniqueConstraint("digest", name="uq_claim_codes_digest"),
        schema=S,
    )
    op.create_index("ix_claim_codes_family_id", "claim_codes", ["family_id"], schema=S)


def downgrade():
    op.drop_table("claim_codes", schema=S)
    op.drop_column("consents", "method", schema=S)
    op.drop_index("ix_families_desk_tenant_id", table_name="families", schema=S)
    op.drop_constraint("fk_families_desk_tenant_id_tenants", "families", schema=S, type_="foreignkey")
    op.drop_column("families", "desk_tenant_id", schema=S)
