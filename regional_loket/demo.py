"""``flask demo load``: a lived-in demo region. Each domain registers what it adds, in order;
the region's municipalities (from tenants/) always come first."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .extensions import db

# (name, loader(session, definitions, echo)) in the order they run.
_loaders: list[tuple[str, Callable]] = []


def register(name: str):
    def decorator(fn):
        _loaders.append((name, fn))
        return fn

    return decorator


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)


@click.group(help="Demo data for development and presentations.")
def demo():
    pass


@demo.command("load")
@with_appcontext
def load_command():
    """Load the demo region (idempotent: running it twice changes nothing the second time)."""
    from .tenancy import services as tenancy_services

    echo = click.echo
    try:
        definitions = tenancy_services.load_definitions(current_app.config["TENANTS_DIR"])
        report = tenancy_services.sync_definitions(db.session, definitions)
        db.session.commit()
    except tenancy_services.TenantError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    echo(f"municipalities: {len(definitions.municipalities)} "
         f"({len(report.created)} created, {len(report.updated)} updated)")
    for name, loader in _loaders:
        loader(db.session, definitions, echo)
        db.session.commit()
        echo(f"{name}: loaded")
