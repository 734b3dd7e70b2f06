"""Organisers as records; the fields a coordinator edits on a location.

Existing locations keep their organiser text; each distinct text becomes an organiser record
and its locations point at it, so the desk's organiser list starts complete.

Revision ID: tenant_0005
Revises: tenant_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "tenant_0005"
down_revision = "tenant_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organisers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(160), nullable=False),
        sa.Column("enterprise_number", sa.String(12), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisers"),
        sa.UniqueConstraint("enterprise_number", name="uq_organisers_enterprise_number"),
    )
    op.add_column("locations", sa.Column("organiser_id", sa.Uuid(), nullable=True))
    op.create_foreign_key("fk_locations_organiser_id_organisers", "locations", "organisers",
                          ["organiser_id"], ["id"])
    op.create_index("ix_locations_organiser_id", "locations", ["organiser_id"])
    # gen_random_uuid() is built into PostgreSQL 13+; the tenant's search_path is set.
    op.execute("INSERT INTO organisers (id, name) SELECT gen_random_uuid(), organiser FROM locations "
               "WHERE organiser <> '' GROUP BY organiser")
    op.execute("UPDATE locations SET organiser_id = organisers.id FROM organisers "
               "WHERE organisers.name = locations.organiser")

    # --- worklists (issue #12 item 4, another helper's lines): when free places were last saved.
    op.add_column("locations", sa.Column("free_places_updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # --- worklists (issue #12 item 4, another helper's lines)
    op.drop_column("locations", "free_places_updated_at")

    op.drop_index("ix_locations_organiser_id", table_name="locations")
    op.drop_constraint("fk_locations_organiser_id_organisers", "locations", type_="foreignkey")
    op.drop_column("locations", "organiser_id")
    op.drop_table("organisers")
