"""The provider back office: ranked waiting lists, offers, refusals and free places."""

from flask import Flask

from .models import PriorityPolicy

__all__ = ["PriorityPolicy", "init_app"]


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
