"""The provider back office: ranked waiting lists, offers, refusals and free places (the
lifecycle itself, and offer expiry, are the ``applications`` package's)."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import views

    app.register_blueprint(views.bp)
    # Weekly; the scheduler's interval, until it runs it at a set day and hour (see jobs.py).
    from .. import jobs as job_plumbing
    from .jobs import staff_digests_everywhere

    job_plumbing.register_periodic(app, staff_digests_everywhere, weekly_on=(0, "07:00"))
