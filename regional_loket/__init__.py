"""Regionaal Loket Kinderopvang: one deployment for the childcare desks of a whole region."""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import settings
from .database import sqlalchemy_url
from .extensions import babel, csrf, db, login_manager


def limiter_storage_uri(redis_url: str) -> str:
    """The ``limits`` library spells a unix-socket Redis ``redis+unix://``."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Touches no database: schemas are migrated by ``flask tenants migrate``."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    settings.load(app, config)
    if app.config["PROXY_HOPS"]:
        # Trust exactly as many X-Forwarded-* values as there are proxies of ours: the rest
        # were written by the client and must not choose its address (rate limits key on it).
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    if not app.config.get("DATABASE_URL"):
        from .dev import embedded

        app.config["DATABASE_URL"] = embedded.postgres_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_url(app.config["DATABASE_URL"])

    if not app.config.get("REDIS_URL"):
        from .dev import embedded

        app.config["REDIS_URL"] = embedded.redis_url(app.instance_path)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app.config["REDIS_URL"]))

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import (
        accounts,
        admin,
        care_requests,
        catalog,
        coordinator,
        demo,
        families,
        i18n,
        jobs,
        notifications,
        provider,
        tenancy,
        web,
    )

    jobs.init_app(app)  # first: domains register their periodic jobs with it
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        default_translation_directories=str(settings.PROJECT_ROOT / "translations"),
    )
    # Tenancy before any blueprint: it resolves the host before any other view code runs.
    tenancy.init_app(app)
    web.init_app(app)
    accounts.init_app(app)
    notifications.init_app(app)
    for domain in (admin, coordinator, catalog, care_requests, families, provider):
        domain.init_app(app)
    demo.init_app(app)
    i18n.init_app(app)
    return app
