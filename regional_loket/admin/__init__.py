"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import coordinators, municipalities, views  # noqa: F401 — routes on views.bp

    app.register_blueprint(views.bp)
    from ..tenancy.cli import tenants
    from .cli import register

    register(tenants)
