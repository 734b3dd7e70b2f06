"""The provider back office: ranked waiting lists, offers, refusals and free places (the
lifecycle itself, and offer expiry, are the ``applications`` package's)."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
