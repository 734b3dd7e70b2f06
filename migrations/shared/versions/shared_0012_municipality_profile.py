"""A municipality's logo, portal texts and accessibility statement.

``municipality_profiles``: what the desk edits that the definitions (tenants/*.toml) do not own
(welcome text, accessibility statement) and which definition fields the desk took over, so
``flask tenants sync`` reports them instead of overwriting. ``tenant_logos``: an uploaded logo's
bytes, in the database so every web node serves the same one. The header of every municipal
page shows the logo, and anonymous search pages are cached: a changed logo announces itself on
the catalog channel like the tenants table does (shared_0007).

Revision ID: shared_0012
Revises: shared_0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "shared_0012"
down_revision = "shared_0011"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "municipality_profiles",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("managed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("welcome", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("accessibility", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], ondelete="CASCADE",
                                name="fk_municipality_profiles_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_municipality_profiles"),
        schema=S,
    )
    op.create_table(
        "tenant_logos",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("content_type IN ('image/png', 'image/jpeg')", name="ck_tenant_logos_content_type"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], ondelete="CASCADE",
                                name="fk_tenant_logos_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_logos"),
        schema=S,
    )
    op.execute(f"""
        CREATE TRIGGER tenant_logos_notify_catalog AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON {S}.tenant_logos FOR EACH STATEMENT EXECUTE FUNCTION {S}.notify_catalog_changed()
    """)

    # --- worklists (issue #12 item 4, another helper's lines): the catalog mirrors when a
    # location's free places were last saved (tenant_0005 adds it to the locations).
    op.add_column("catalog_locations", sa.Column("free_places_updated_at", sa.DateTime(timezone=True),
                                                 nullable=True), schema=S)


def downgrade():
    # --- worklists (issue #12 item 4, another helper's lines)
    op.drop_column("catalog_locations", "free_places_updated_at", schema=S)

    op.execute(f"DROP TRIGGER tenant_logos_notify_catalog ON {S}.tenant_logos")
    op.drop_table("tenant_logos", schema=S)
    op.drop_table("municipality_profiles", schema=S)
