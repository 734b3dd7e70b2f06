"""Tenancy: which municipality a request is for, and binding its schema.

The tenant is resolved from the Host header here and nowhere else (:func:`_resolve_request`).
Views read it from ``g.tenant`` (``None`` on the regional portal) and pass it on explicitly;
services never look it up themselves.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, g, render_template, request

from ..extensions import db
from .binding import TenantMismatchError, bind_tenant, bound_schema, tenant_scope
from .models import Postcode, RegionSetting, Tenant, TenantDomain, TenantStatus, schema_for
from .resolver import HostKind, classify_host
from .services import TenantError, find_tenant

__all__ = [
    "Postcode", "RegionSetting", "Tenant", "TenantDomain", "TenantError", "TenantMismatchError",
    "TenantStatus", "bind_tenant", "bound_schema", "init_app", "region_only", "schema_for",
    "tenant_required", "tenant_scope",
]


def init_app(app: Flask) -> None:
    # Registered before any blueprint, so every view (static files included) runs after it.
    app.before_request(_resolve_request)
    from . import cli

    app.cli.add_command(cli.tenants)


def _resolve_request():
    g.tenant = None
    match = classify_host(request.host, current_app.config["REGION_SERVER_NAME"])
    if match.kind is HostKind.REGION:
        return None
    if match.kind is HostKind.UNKNOWN:
        abort(404)
    tenant = find_tenant(db.session, match)
    if tenant is None:
        abort(404)
    if tenant.is_archived:
        return render_template("errors/archived.html", archived=tenant), 410
    g.tenant = tenant
    bind_tenant(db.session, tenant)
    return None


def tenant_required(view):
    """The view only exists on a municipal host."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("tenant") is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def region_only(view):
    """The view only exists on the regional host."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("tenant") is not None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
