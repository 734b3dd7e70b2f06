"""Tenancy: which municipality a request is for, and binding its schema.

The tenant is resolved from the Host header here and nowhere else (:func:`_resolve_request`).
Views read it from ``g.tenant`` (``None`` on the regional portal) and pass it on explicitly;
services never look it up themselves. Which hosts a route serves is declared per blueprint
(``hosts.serves``) and enforced by the same resolver, before any other hook (CSRF included).
"""

from __future__ import annotations

from flask import Flask, abort, current_app, g, redirect, render_template, request

from ..extensions import db
from .binding import TenantMismatchError, bind_tenant, bound_schema, tenant_scope
from .hosts import HostRule, Hosts, only_on, rule_for, serves
from .models import (
    SCHEMA_PREFIX,
    AuditEntry,
    Postcode,
    RegionAuditEntry,
    RegionSetting,
    Tenant,
    TenantDomain,
    TenantSettings,
    TenantStatus,
    schema_for,
)
from .resolver import HostKind, classify_host
from .services import TenantError, find_tenant

__all__ = [
    "SCHEMA_PREFIX", "AuditEntry", "HostRule", "Hosts", "Postcode", "RegionAuditEntry", "RegionSetting", "Tenant", "TenantDomain",
    "TenantError", "TenantMismatchError", "TenantSettings", "TenantStatus", "bind_tenant", "bound_schema", "init_app", "only_on",
    "schema_for", "serves", "tenant_scope",
]


def init_app(app: Flask) -> None:
    # Registered before any blueprint, so every view (static files included) runs after it.
    app.before_request(_resolve_request)
    from . import cli

    app.cli.add_command(cli.tenants)


def _resolve_request():
    g.tenant = None
    match = classify_host(request.host, current_app.config["REGION_SERVER_NAME"])
    if match.kind is HostKind.UNKNOWN:
        abort(404)
    if match.kind is not HostKind.REGION:
        tenant = find_tenant(db.session, match)
        if tenant is None and match.kind is HostKind.SUBDOMAIN:
            return _renamed(match.key)
        if tenant is None:
            abort(404)
        if tenant.is_archived:
            return render_template("errors/archived.html", archived=tenant), 410
        g.tenant = tenant
        bind_tenant(db.session, tenant)
    return _check_hosts(g.tenant)


def _renamed(subdomain: str):
    """A subdomain a municipality left by a rename: permanently to its new host, same path and
    query (308 keeps a form's POST a POST); an unknown one is a 404 as before."""
    from .administration import renamed_to

    tenant = renamed_to(db.session, subdomain)
    if tenant is None:
        abort(404)
    target = f"{request.scheme}://{tenant.subdomain}.{current_app.config['REGION_SERVER_NAME']}{request.full_path}"
    return redirect(target.rstrip("?") if not request.query_string else target, 308)


def _check_hosts(tenant):
    """The route's host declaration (tenancy.hosts), checked here for every route at once."""
    if request.endpoint is None:  # no route matched: the routing error answers (404, 405)
        return None
    rule = rule_for(current_app, request.endpoint)
    if rule is None:
        current_app.logger.error("route %s declares no hosts (tenancy.serves)", request.endpoint)
        abort(404)
    if rule.admits(tenant):
        return None
    if rule.elsewhere is not None:
        return rule.elsewhere()
    abort(404)
