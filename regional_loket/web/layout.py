"""What every page's layout reads: the host's tenant, languages, back-office links, the region's
settings; and the template globals and filters shared by all domains."""

from __future__ import annotations

from datetime import date

from flask import Flask, g
from flask_babel import format_date, get_locale

from ..extensions import db
from ..tenancy import services as tenancy_services
from ..validators import safe_http_url
from . import formatting
from .languages import LANGUAGE_NAMES
from .navigation import back_office_links, signed_in_user
from .urls import portal_url, switch_url


def localdate(value) -> str:
    """A date (or an ISO date string, as snapshots keep them) in the reader's language."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    return format_date(value, "medium") if value else ""


def init_app(app: Flask) -> None:
    app.context_processor(_layout_context)
    app.jinja_env.globals["portal_url"] = portal_url
    app.jinja_env.globals["switch_url"] = switch_url
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["localdate"] = localdate
    app.jinja_env.filters["safe_http_url"] = safe_http_url  # every stored address that becomes an href
    formatting.init_app(app)


def _layout_context() -> dict:
    return {
        # A callable: the links are only worked out when the page's header is rendered.
        "back_office_links": lambda: back_office_links(signed_in_user(), g.get("tenant")),
        "tenant": g.get("tenant"),
        "languages": LANGUAGE_NAMES,
        "current_language": str(get_locale() or "nl"),
        "region": _region_settings(),
    }


def provide_region_settings(settings: dict) -> None:
    """This request's region settings, read by the caller from a source that is as current as
    the database (the search index's snapshot, renewed on every ``catalog_changed``, which the
    region settings table sends): the layout then does not read them again."""
    if "region_settings" not in g:
        g.region_settings = settings


def _region_settings() -> dict:
    """Loaded once per request, only when a page is rendered."""
    if "region_settings" not in g:
        try:
            g.region_settings = tenancy_services.region_settings(db.session)
        except Exception:  # noqa: BLE001 — an error page must render even without a database
            db.session.rollback()
            g.region_settings = {}
    return g.region_settings
