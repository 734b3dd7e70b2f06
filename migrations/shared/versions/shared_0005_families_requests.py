"""Families, guardians, children, consents; requests and their ranked choices.

Revision ID: shared_0005
Revises: shared_0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "shared_0005"
down_revision = "shared_0004"
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
        "families",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("street", sa.String(160), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("postcode", sa.String(4), nullable=False),
        sa.Column("locality", sa.String(80), nullable=False),
        sa.Column("home_tenant_id", sa.Uuid(), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("needs_care_for_work", sa.Boolean(), nullable=False),
        sa.Column("single_parent", sa.Boolean(), nullable=False),
        sa.Column("low_income", sa.Boolean(), nullable=False),
        sa.Column("referrer_organisation", sa.String(160), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["home_tenant_id"], [f"{S}.tenants.id"], name="fk_families_home_tenant_id_tenants",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_families"),
        schema=S,
    )
    op.create_table(
        "guardians",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(["family_id"], [f"{S}.families.id"], name="fk_guardians_family_id_families",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], [f"{S}.users.id"], name="fk_guardians_user_id_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_guardians"),
        sa.UniqueConstraint("user_id", name="uq_guardians_user_id"),
        schema=S,
    )
    op.create_index("ix_guardians_family_id", "guardians", ["family_id"], schema=S)
    op.create_table(
        "children",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(80), nullable=False),
        sa.Column("last_name", sa.String(80), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("national_number_digest", sa.String(64), nullable=True),
        sa.Column("foster_child", sa.Boolean(), nullable=False),
        sa.Column("extra_care_needs", sa.Boolean(), nullable=False),
        sa.Column("sibling_location_ids", ARRAY(sa.Uuid()), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(["family_id"], [f"{S}.families.id"], name="fk_children_family_id_families",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_children"),
        schema=S,
    )
    op.create_index("ix_children_family_id", "children", ["family_id"], schema=S)
    op.create_index("ix_children_national_number_digest", "children", ["national_number_digest"], schema=S)
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("given_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["family_id"], [f"{S}.families.id"], name="fk_consents_family_id_families",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        schema=S,
    )
    op.create_index("ix_consents_family_id", "consents", ["family_id"], schema=S)
    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("flexibility_weeks", sa.SmallInteger(), nullable=False),
        sa.Column("care_plan", JSONB(), nullable=False),
        sa.Column("keep_higher_choices", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("status IN ('draft', 'open', 'placed', 'inactive', 'withdrawn')", name="ck_requests_status"),
        sa.ForeignKeyConstraint(["family_id"], [f"{S}.families.id"], name="fk_requests_family_id_families",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["child_id"], [f"{S}.children.id"], name="fk_requests_child_id_children",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
        schema=S,
    )
    op.create_index("ix_requests_family_id", "requests", ["family_id"], schema=S)
    op.create_index("ix_requests_child_id_status", "requests", ["child_id", "status"], schema=S)
    op.create_table(
        "choices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(12), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], [f"{S}.requests.id"], name="fk_choices_request_id_requests",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_choices_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_choices"),
        sa.UniqueConstraint("request_id", "location_id", name="uq_choices_request_id_location_id"),
        sa.UniqueConstraint("application_id", name="uq_choices_application_id"),
        schema=S,
    )
    op.create_index("ix_choices_request_id", "choices", ["request_id"], schema=S)


def downgrade():
    for table in ("choices", "requests", "consents", "children", "guardians", "families"):
        op.drop_table(table, schema=S)
