"""``flask tenants export`` and ``flask tenants import``: a municipality's data in one archive
(admin.transfer), added to the tenancy command group. Each runs in one transaction."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .. import clock
from ..extensions import db
from . import transfer


def _fail(message: str) -> None:
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


@click.command("export")
@click.argument("slug")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_command(slug: str, file: str):
    """Write one municipality's schema and its rows in shared to FILE (.tar.gz)."""
    try:
        manifest = transfer.export(db.session, slug, file, now=clock.now())
    except transfer.TransferError as error:
        _fail(str(error))
    finally:
        db.session.rollback()  # an export only reads
    rows = sum(manifest["tables"].values())
    click.echo(f"exported {slug}: {rows} rows in {len(manifest['tables'])} tables to {file} "
               f"(shared {manifest['shared_version']}, tenant {manifest['tenant_version']})")
    click.echo("not carried: accounts, memberships, invitations, outbox, job runs, and requests of families "
               "that also asked elsewhere")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(file: str):
    """Restore a municipality from an archive made by 'flask tenants export' (same versions only)."""
    try:
        archive = transfer.load(file)
        tenant = transfer.restore(db.session, archive)
        db.session.commit()
    except transfer.TransferError as error:
        db.session.rollback()
        _fail(str(error))
    rows = sum(archive.manifest["tables"].values())
    click.echo(f"imported {tenant.slug} ({tenant.name}): {rows} rows, schema {tenant.schema}")
    click.echo("invite its coordinators and staff again: accounts are not part of an archive")


def register(group: click.Group) -> None:
    group.add_command(export_command)
    group.add_command(import_command)
