"""Locations and their free places per month and age group.

Revision ID: tenant_0002
Revises: tenant_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "tenant_0002"
down_revision = "tenant_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "locations",
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.Column("closures", JSONB(), nullable=False),
        sa.Column("languages", sa.ARRAY(sa.String(2)), nullable=False),
        sa.Column("tariff", sa.String(8), nullable=False),
        sa.Column("day_price", sa.Numeric(6, 2), nullable=True),
        sa.Column("special_care", sa.Boolean(), nullable=False),
        sa.Column("description", JSONB(), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("website", sa.String(300), nullable=True),
        sa.Column("accepts_online", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('group', 'family', 'out_of_school')", name="ck_locations_kind"),
        sa.CheckConstraint("tariff IN ('income', 'free')", name="ck_locations_tariff"),
        sa.CheckConstraint("min_age_months >= 0 AND max_age_months >= min_age_months", name="ck_locations_ages"),
        sa.CheckConstraint("licensed_places >= 0", name="ck_locations_places"),
        sa.PrimaryKeyConstraint("id", name="pk_locations"),
    )
    op.create_table(
        "availability",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("age_group", sa.String(8), nullable=False),
        sa.Column("free_places", sa.Integer(), nullable=False),
        sa.CheckConstraint("free_places >= 0", name="ck_availability_free_places"),
        sa.CheckConstraint("age_group IN ('baby', 'toddler', 'school')", name="ck_availability_age_group"),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name="fk_availability_location_id_locations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_availability"),
        sa.UniqueConstraint("location_id", "month", "age_group", name="uq_availability_location_id_month_age_group"),
    )
    op.create_index("ix_availability_location_id", "availability", ["location_id"])


def downgrade():
    op.drop_table("availability")
    op.drop_table("locations")
