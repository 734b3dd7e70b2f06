"""Tenants, their domains and postcodes, region settings.

Revision ID: shared_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "shared_0001"
down_revision = None
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("subdomain", sa.String(63), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("nis_code", sa.String(5), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("colour", sa.String(7), nullable=False),
        sa.Column("logo", sa.String(200), nullable=True),
        sa.Column("desk", JSONB(), nullable=False),
        sa.Column("settings", JSONB(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('active', 'archived')", name="ck_tenants_status"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        sa.UniqueConstraint("subdomain", name="uq_tenants_subdomain"),
        sa.UniqueConstraint("nis_code", name="uq_tenants_nis_code"),
        schema=S,
    )
    op.create_table(
        "tenant_domains",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_tenant_domains_tenant_id_tenants", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("domain", name="pk_tenant_domains"),
        schema=S,
    )
    op.create_index("ix_tenant_domains_tenant_id", "tenant_domains", ["tenant_id"], schema=S)
    op.create_table(
        "postcodes",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(4), nullable=False),
        sa.Column("locality", sa.String(80), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_postcodes_tenant_id_tenants", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_postcodes"),
        sa.UniqueConstraint("code", "locality", name="uq_postcodes_code_locality"),
        schema=S,
    )
    op.create_index("ix_postcodes_tenant_id", "postcodes", ["tenant_id"], schema=S)
    op.create_index("ix_postcodes_code", "postcodes", ["code"], schema=S)
    op.create_table(
        "region_settings",
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_region_settings"),
        schema=S,
    )


def downgrade():
    for table in ("region_settings", "postcodes", "tenant_domains", "tenants"):
        op.drop_table(table, schema=S)
