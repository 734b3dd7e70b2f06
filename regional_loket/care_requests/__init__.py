"""Requests (one per child and period, schema ``shared``) and their ranked choices; each
choice's application at its location is the ``applications`` package's."""

from flask import Flask

from ..audit import register_family_lookup
from ..families import keep_family_data
from .models import CareRequest, Choice, RequestStatus

__all__ = ["CareRequest", "Choice", "RequestStatus", "init_app"]


def init_app(app: Flask) -> None:
    from .. import jobs as job_queue
    from . import demo, privacy, services, views  # noqa: F401 — demo registers its loader, services its listener
    from .jobs import confirmations

    app.register_blueprint(views.bp)
    # Imported after views: importing it registers its back-office link, and "my requests" comes first.
    from . import referrer

    app.register_blueprint(referrer.bp)
    # The family's download and erasure include its requests, without families importing them.
    keep_family_data(export=privacy.export_for_family, erase=privacy.erase_for_family)
    # The audit log names the family of an application's request, without importing requests.
    register_family_lookup(services.family_id_of)
    # Reminders before a confirmation is due, inactivity after the grace period (one region-wide job).
    job_queue.register_periodic(app, confirmations, daily_at="06:00")
