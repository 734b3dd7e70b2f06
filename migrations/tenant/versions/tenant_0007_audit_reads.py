"""The audit log records reads too, with the host they came from.

Revision ID: tenant_0007
Revises: tenant_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "tenant_0007"
down_revision = "tenant_0006"
branch_labels = None
depends_on = None


def upgrade():
    # Every entry so far was a change (the erasure line): the default fills them, then goes.
    op.add_column("audit_log", sa.Column("kind", sa.String(6), nullable=False, server_default="change"))
    op.alter_column("audit_log", "kind", server_default=None)
    op.add_column("audit_log", sa.Column("actor_role", sa.String(20), nullable=True))
    op.add_column("audit_log", sa.Column("family_id", sa.Uuid(), nullable=True))
    op.add_column("audit_log", sa.Column("host", sa.String(253), nullable=True))
    op.create_check_constraint(op.f("ck_audit_log_kind"), "audit_log", "kind IN ('read', 'change')")
    op.create_index("ix_audit_log_actor_id_at", "audit_log", ["actor_id", "at"])
    op.create_index("ix_audit_log_family_id_at", "audit_log", ["family_id", "at"])


def downgrade():
    op.drop_index("ix_audit_log_family_id_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor_id_at", table_name="audit_log")
    op.drop_constraint(op.f("ck_audit_log_kind"), "audit_log", type_="check")
    for column in ("host", "family_id", "actor_role", "kind"):
        op.drop_column("audit_log", column)
