"""Region administration of municipalities: provisioning requests (created from the browser, run
as a job, retried after a failure), retired subdomains (an old host redirects to the new one and
stays reserved), and invitations that name the role they give (provider staff or coordinator).

Revision ID: shared_0015
Revises: shared_0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "shared_0015"
down_revision = "shared_0014"
branch_labels = None
depends_on = None

S = "shared"


def upgrade():
    op.create_table(
        "tenant_provisionings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("subdomain", sa.String(63), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("nis_code", sa.String(5), nullable=False),
        sa.Column("colour", sa.String(7), nullable=False),
        sa.Column("domains", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("coordinator_email", sa.String(254), nullable=False),
        sa.Column("coordinator_language", sa.String(2), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'running', 'done', 'failed')",
                           name="ck_tenant_provisionings_status"),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"],
                                name="fk_tenant_provisionings_tenant_id_tenants", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["requested_by"], [f"{S}.users.id"],
                                name="fk_tenant_provisionings_requested_by_users", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_tenant_provisionings"),
        schema=S,
    )
    # One unfinished request per slug: a second form for the same slug is refused, a retry
    # reuses the row.
    op.create_index("ix_tenant_provisionings_open_slug", "tenant_provisionings", ["slug"], unique=True, schema=S,
                    postgresql_where=sa.text("status <> 'done'"))
    op.create_table(
        "retired_subdomains",
        sa.Column("subdomain", sa.String(63), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], [f"{S}.tenants.id"], name="fk_retired_subdomains_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subdomain", name="pk_retired_subdomains"),
        schema=S,
    )
    op.create_index("ix_retired_subdomains_tenant_id", "retired_subdomains", ["tenant_id"], schema=S)
    op.add_column("staff_invitations", sa.Column("role", sa.String(20), server_default="provider_staff",
                                                 nullable=False), schema=S)
    op.create_check_constraint("ck_staff_invitations_role", "staff_invitations",
                               "role IN ('provider_staff', 'coordinator')", schema=S)


def downgrade():
    op.drop_constraint("ck_staff_invitations_role", "staff_invitations", schema=S)
    op.drop_column("staff_invitations", "role", schema=S)
    op.drop_table("retired_subdomains", schema=S)
    op.drop_index("ix_tenant_provisionings_open_slug", table_name="tenant_provisionings", schema=S)
    op.drop_table("tenant_provisionings", schema=S)
