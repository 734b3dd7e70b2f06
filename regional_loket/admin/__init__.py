"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import audit, views  # noqa: F401 — audit adds its routes to views' blueprint

    app.register_blueprint(views.bp)
