"""The regional search catalog: one row per location, free places per month.

Revision ID: shared_0004
Revises: shared_0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision = "shared_0004"
down_revision = "shared_0003"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "catalog_locations",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("organiser", sa.String(160), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("street", sa.String(160), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("postcode", sa.String(4), nullable=False),
        sa.Column("locality", sa.String(80), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("licensed_places", sa.Integer(), nullable=False),
        sa.Column("min_age_months", sa.SmallInteger(), nullable=False),
        sa.Column("max_age_months", sa.SmallInteger(), nullable=False),
        sa.Column("opening_days", sa.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.Column("languages", sa.ARRAY(sa.String(2)), nullable=False),
        sa.Column("tariff", sa.String(8), nullable=False),
        sa.Column("day_price", sa.Numeric(6, 2), nullable=True),
        sa.Column("special_care", sa.Boolean(), nullable=False),
        sa.Column("accepts_online", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", JSONB(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column(
            "search_vector", TSVECTOR(),
            sa.Computed("to_tsvector('simple', search_text) || to_tsvector('dutch', search_text) "
                        "|| to_tsvector('french', search_text)", persisted=True),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_catalog_locations_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("location_id", name="pk_catalog_locations"),
        schema=S,
    )
    op.create_index("ix_catalog_locations_search", "catalog_locations", ["search_vector"],
                    postgresql_using="gin", schema=S)
    op.create_index("ix_catalog_locations_tenant_id", "catalog_locations", ["tenant_id"], schema=S)
    op.create_index("ix_catalog_locations_lat_lon", "catalog_locations", ["lat", "lon"], schema=S)
    op.create_table(
        "catalog_availability",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("age_group", sa.String(8), nullable=False),
        sa.Column("free_places", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], [f"{S}.catalog_locations.location_id"],
                                name="fk_catalog_availability_location_id_catalog_locations", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("location_id", "month", "age_group", name="pk_catalog_availability"),
        schema=S,
    )
    op.create_index("ix_catalog_availability_month_age_group", "catalog_availability",
                    ["month", "age_group", "free_places"], schema=S)


def downgrade():
    op.drop_table("catalog_availability", schema=S)
    op.drop_table("catalog_locations", schema=S)
