"""``flask tenants …``: operator commands. They check their arguments, say what is wrong and
exit non-zero; each runs in one transaction, so a refused command changes nothing."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from . import migrate as migrations
from . import services


def _fail(message: str) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


@click.group(help="Manage the region's municipalities (tenants) and their schemas.")
def tenants():
    pass


@tenants.command("migrate")
@click.option("--parallel", "-j", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Tenants upgraded at the same time.")
@with_appcontext
def migrate_command(parallel: int):
    """Upgrade the shared schema, then every tenant schema that is behind."""
    config = current_app.config
    report = migrations.migrate_all(
        db.engine, parallel=parallel, report=click.echo,
        tenant_location=config.get("TENANT_MIGRATIONS") or migrations.TENANT_TRACK,
        shared_location=config.get("SHARED_MIGRATIONS") or migrations.SHARED_TRACK,
    )
    upgraded, failed = len(report.upgraded), len(report.failed)
    click.echo(f"done: {upgraded} upgraded, {len(report.outcomes) - upgraded - failed} already at head, {failed} failed")
    if failed:
        _fail("migration failed for " + ", ".join(o.slug for o in report.failed))


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Tielt-Winge'.")
@click.option("--nis", "nis_code", required=True, help="The municipality's five-digit NIS code.")
@click.option("--colour", default=None, help="Brand colour as #rrggbb.")
@click.option("--domain", "domains", multiple=True, help="An extra custom domain (repeatable).")
@with_appcontext
def create_command(slug, name, nis_code, colour, domains):
    """Create a tenant and its schema, ready at the current head, in one step."""
    try:
        tenant = services.create_tenant(
            db.session, slug=slug, name=name, nis_code=nis_code, colour=colour, domains=list(domains)
        )
        db.session.commit()
    except services.TenantError as exc:
        db.session.rollback()
        _fail(str(exc))
    click.echo(f"created {tenant.slug} ({tenant.name}) in schema {tenant.schema}")


@tenants.command("list")
@with_appcontext
def list_command():
    """List tenants with status, schema version and host."""
    rows = services.list_tenants(db.session)
    versions = migrations.read_versions(db.session.connection(), [t.schema for t in rows])
    region = current_app.config["REGION_SERVER_NAME"]
    if not rows:
        click.echo("no tenants; try 'flask tenants sync' or 'flask tenants create'")
        return
    click.echo(f"{'slug':<16} {'name':<18} {'nis':<6} {'status':<9} {'version':<12} host")
    for t in rows:
        click.echo(
            f"{t.slug:<16} {t.name:<18} {t.nis_code:<6} {t.status:<9} "
            f"{versions.get(t.schema) or '-':<12} {t.subdomain}.{region}"
        )


@tenants.command("archive")
@click.argument("slug")
@with_appcontext
def archive_command(slug):
    """Stop serving a tenant's portal; its schema and history stay."""
    _change(services.archive_tenant, slug, "archived")


@tenants.command("restore")
@click.argument("slug")
@with_appcontext
def restore_command(slug):
    """Serve an archived tenant again."""
    _change(services.restore_tenant, slug, "restored")


def _change(operation, slug, verb):
    try:
        operation(db.session, slug)
        db.session.commit()
    except services.TenantError as exc:
        db.session.rollback()
        _fail(str(exc))
    click.echo(f"{verb} {slug}")


@tenants.command("sync")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="Definitions folder (default: the TENANTS_DIR setting).")
@with_appcontext
def sync_command(directory):
    """Make the database match the declarative definitions in tenants/."""
    try:
        definitions = services.load_definitions(directory or current_app.config["TENANTS_DIR"])
        report = services.sync_definitions(db.session, definitions)
        db.session.commit()
    except services.TenantError as exc:
        db.session.rollback()
        _fail(str(exc))
    for label, slugs in (("created", report.created), ("updated", report.updated),
                         ("unchanged", report.unchanged)):
        click.echo(f"{label}: {', '.join(slugs) if slugs else '-'}")
    if report.undeclared:
        click.echo(f"in the database but not declared (left as they are): {', '.join(report.undeclared)}")
    if report.kept:
        click.echo("changed in the desk's settings, kept (the definition differs; edit it or the settings):")
        for line in report.kept:
            click.echo(f"  {line}")
