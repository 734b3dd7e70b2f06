"""The ``loket`` console script (the same commands as ``flask --app wsgi …``) and
``config check``.

An installed wheel has no ``wsgi.py`` to point ``flask --app`` at: ``loket`` builds the app with
``create_app`` itself, from the environment alone.
"""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import settings


def init_app(app: Flask) -> None:
    app.cli.add_command(config_group)


@click.group("config", help="The effective configuration.")
def config_group() -> None:
    pass


@config_group.command("check")
@with_appcontext
def check_command() -> None:
    """Print every setting as the app sees it (secrets masked) and where it came from.

    Building the app already refused a missing or malformed setting, so reaching this point
    means the configuration loads."""
    for key, value, source in settings.effective(current_app):
        click.echo(f"{key} = {value}  # {source}")
    click.echo(f"configuration OK ({current_app.config['ENV']})", err=True)


def _create_app() -> Flask:
    from . import create_app

    try:
        return create_app()
    except settings.ConfigError as error:
        # One line naming the setting, not a traceback nor Flask's "No such command" after it.
        click.echo(f"Error: configuration: {error}", err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, load_dotenv=False,
             help="Regionaal Loket Kinderopvang: tenants, accounts, workers, the scheduler, …")
def main() -> None:
    pass
