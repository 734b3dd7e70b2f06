"""The regional catalog: locations, free places, search across municipality borders, open data."""

from flask import Flask

from ..vocabulary import AgeGroup, Kind  # defined once there, shared by every domain
from .models import (
    Availability,
    CatalogAvailability,
    CatalogLocation,
    Location,
    Organiser,
    Tariff,
)

__all__ = ["AgeGroup", "Availability", "CatalogAvailability", "CatalogLocation", "Kind", "Location",
           "Organiser", "Tariff", "init_app"]


def init_app(app: Flask) -> None:
    from . import api, cache, cli, demo, index, mirror, views  # noqa: F401 — mirror and demo register hooks

    generation = cache.init_app(app)
    if generation is not None:
        index.init_app(app, generation)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(cli.catalog)
    from .. import jobs as job_plumbing
    from .jobs import DRIFT_CHECK, check_catalog_drift

    job_plumbing.register_periodic(app, check_catalog_drift, daily_at="05:30", name=DRIFT_CHECK)
