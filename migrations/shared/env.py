"""Alembic environment of the shared track, for authoring revisions with the alembic CLI.

Applying migrations goes through `flask tenants migrate` (regional_loket.tenancy.migrate),
which runs this track's revisions without this file.
"""

from alembic import context

if not context.is_offline_mode():
    raise SystemExit("Apply migrations with 'flask tenants migrate'; this env only authors revisions.")
