"""Requests (one per child and period) and their applications at the chosen locations."""

from flask import Flask

from .models import Application, ApplicationEvent, CareRequest, Choice, RequestStatus, Status

__all__ = ["Application", "ApplicationEvent", "CareRequest", "Choice", "RequestStatus", "Status", "init_app"]


def init_app(app: Flask) -> None:
    from . import demo, views  # noqa: F401 — demo registers its loader
    from .labels import event_note, reject_reason_label

    app.register_blueprint(views.bp)
    app.jinja_env.globals["reject_reason_label"] = reject_reason_label
    app.jinja_env.globals["event_note"] = event_note
