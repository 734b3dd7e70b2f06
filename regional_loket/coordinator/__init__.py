"""The municipal coordinator's back office, on the municipality's own host."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import (
        audit,  # noqa: F401 — the municipality's audit log (/beheer/audit) on views.bp
        calls,  # noqa: F401 — the call list's and the family's routes; the call list hears news
        figures,  # noqa: F401 — the desk's figures and the yearly report (/beheer/cijfers)
        intake,  # noqa: F401 — assisted intake: dossiers for families without e-mail, claim codes
        offer,  # noqa: F401 — registers the offer's routes on views.bp
        settings,  # noqa: F401 — registers the municipality's settings pages on views.bp
        staff,  # noqa: F401 — registers the provider staff pages on views.bp
        views,
        worklists,  # noqa: F401 — registers the worklists' routes on views.bp
    )

    app.register_blueprint(views.bp)
    # Daily work; the scheduler's intervals, until it runs them at set hours (see jobs.py).
    from .. import jobs as job_plumbing
    from .jobs import desk_digests_everywhere, start_approaching_everywhere

    job_plumbing.register_periodic(app, desk_digests_everywhere, daily_at="07:00")
    job_plumbing.register_periodic(app, start_approaching_everywhere, daily_at="08:15")
