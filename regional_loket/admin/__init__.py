"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import policies, tariffs, views  # noqa: F401 — policies and tariffs add their routes to views.bp

    app.register_blueprint(views.bp)
