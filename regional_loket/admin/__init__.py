"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import health, views  # noqa: F401 — health adds its routes to the blueprint

    app.register_blueprint(views.bp)
