"""``flask catalog …``: compare the regional catalog with the municipalities' own rows."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..tenancy import services as tenancy_services
from . import mirror


@click.group(help="The regional search catalog.")
def catalog():
    pass


@catalog.command("rebuild")
@click.option("--check", is_flag=True, help="Only report drift; change nothing (exit 1 when there is drift).")
@click.option("--tenant", "slugs", multiple=True, help="Only these municipalities (repeatable).")
@with_appcontext
def rebuild_command(check: bool, slugs: tuple[str, ...]):
    """Rebuild the catalog from the tenant schemas and report any drift."""
    tenants = tenancy_services.list_tenants(db.session)
    if slugs:
        unknown = set(slugs) - {t.slug for t in tenants}
        if unknown:
            click.secho(f"Error: no tenant {', '.join(sorted(unknown))}", fg="red", err=True)
            sys.exit(2)
        tenants = [t for t in tenants if t.slug in slugs]
    report = mirror.rebuild(db.session, tenants, fix=not check)
    if check:
        db.session.rollback()
    else:
        db.session.commit()
    drifted = [d for d in report if not d.clean]
    for drift in report:
        if drift.clean:
            click.echo(f"{drift.tenant}: no drift")
        else:
            click.echo(f"{drift.tenant}: {len(drift.missing)} missing, {len(drift.extra)} extra, "
                       f"{len(drift.different)} different, {drift.availability} free-place rows"
                       + ("" if check else " — fixed"))
    click.echo(f"{len(report)} municipalities checked, {len(drifted)} with drift")
    if check and drifted:
        sys.exit(1)
