"""``flask accounts …``: bootstrap and support commands for operators."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .. import languages
from ..database import utcnow
from ..extensions import db
from ..tenancy import services as tenancy_services
from . import passwords, services
from .models import Role


@click.group(help="User accounts and roles.")
def accounts():
    pass


def _fail(message: str):
    click.secho(f"Error: {message}", fg="red", err=True)
    sys.exit(1)


@accounts.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--language", type=click.Choice(languages.CODES), default=languages.DEFAULT, show_default=True)
@with_appcontext
def create_command(email, name, password, language):
    """Create a verified account (e.g. the first administrator)."""
    if services.normalise_email(email) is None:
        _fail(f"{email!r} is not an e-mail address")
    if found := passwords.problems(password, email=email, name=name):
        _fail(str(found[0]))
    user, created = services.register(db.session, email=email, password=password, name=name, language=language)
    if not created:
        db.session.rollback()
        _fail(f"an account for {user.email} already exists")
    user.verified_at = utcnow()
    db.session.commit()
    click.echo(f"created {user.email}")


@accounts.command("grant")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--tenant", "slug", help="Municipality, for coordinator and provider_staff.")
@click.option("--organisation", help="For referrers, e.g. 'OCMW Leuven'.")
@with_appcontext
def grant_command(email, role, slug, organisation):
    """Give an existing account a role."""
    user = services.find_user(db.session, email)
    if user is None:
        _fail(f"no account for {email!r}")
    tenant = None
    if slug:
        tenant = tenancy_services.get_tenant(db.session, slug)
        if tenant is None:
            _fail(f"no tenant {slug!r}")
    try:
        services.grant(db.session, user, role, tenant=tenant, organisation=organisation)
    except ValueError as exc:
        db.session.rollback()
        _fail(str(exc))
    db.session.commit()
    click.echo(f"{user.email} is now {role}{' of ' + slug if slug else ''}")
