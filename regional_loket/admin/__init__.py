"""The intercommunal administrators' back office on the regional host: municipalities, people,
roles, revocation."""

from flask import Flask

__all__ = ["init_app"]


def init_app(app: Flask) -> None:
    from . import (
        audit,  # noqa: F401 — the region's audit log (/beheer/regio/audit) on views.bp
        coordinators,  # noqa: F401 — each municipality's coordinators on views.bp
        figures,  # noqa: F401 — the region's figures (/beheer/regio/cijfers) on views.bp
        health,  # noqa: F401 — the platform's health (/beheer/regio/gezondheid) on views.bp
        municipalities,  # noqa: F401 — municipalities created, archived, renamed on views.bp
        policies,  # noqa: F401 — priority policy versions (/beheer/regio/voorrang) on views.bp
        tariffs,  # noqa: F401 — yearly thresholds and tariff parameters on views.bp
        views,
    )

    app.register_blueprint(views.bp)
    from ..tenancy.cli import tenants
    from .cli import register

    register(tenants)
