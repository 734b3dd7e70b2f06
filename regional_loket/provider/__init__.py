"""The provider back office: ranked waiting lists, offers, refusals and free places."""

from flask import Flask

from .models import PriorityPolicy

__all__ = ["PriorityPolicy", "init_app"]


def init_app(app: Flask) -> None:
    from .. import jobs
    from . import views
    from .jobs import expire_offers_everywhere

    app.register_blueprint(views.bp)
    jobs.register_periodic(app, expire_offers_everywhere, every=3600)
