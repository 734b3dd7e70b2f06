"""Authorization in one layer. Every view declares its policy with exactly one of these
decorators; ``tests/test_policy.py`` fails for a route that declares none.

- ``@public``: anyone.
- ``@login_required``: any logged-in user (their own account pages).
- ``@require(role, …, location="location_id")``: a logged-in user holding one of the roles; for
  municipal roles, in the municipality of this host, and for provider staff, for the location
  named by that view argument when given. Administrators pass wherever "admin" is listed.

Services use :func:`can` with the same rules, so a check never depends on the route it came from.
"""

from __future__ import annotations

import uuid
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user

# The declaration itself (``view.policy``) is the web layer's, so its own pages can be public.
from ..web.declarations import Policy, declare_policy, public
from .models import TENANT_ROLES, Role

__all__ = ["Policy", "allowed_locations", "can", "login_required", "public", "require"]


def can(user, roles, *, tenant=None, location_id: uuid.UUID | None = None) -> bool:
    """Whether ``user`` holds one of ``roles`` here (``tenant``: this host's municipality)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    roles = {Role(r) for r in ([roles] if isinstance(roles, str) else roles)}
    for membership in user.memberships:
        role = Role(membership.role)
        if role not in roles:
            continue
        if role in TENANT_ROLES:
            if tenant is None or membership.tenant_id != tenant.id:
                continue
            if role is Role.PROVIDER_STAFF and location_id is not None and location_id not in membership.location_ids:
                continue
        return True
    return False


def allowed_locations(user, tenant) -> set[uuid.UUID] | None:
    """Locations of ``tenant`` this user may handle: None means all of them (coordinator or
    admin), an empty set none."""
    if can(user, (Role.COORDINATOR, Role.ADMIN), tenant=tenant):
        return None
    return {
        location
        for m in getattr(user, "memberships", [])
        if m.role == Role.PROVIDER_STAFF and tenant is not None and m.tenant_id == tenant.id
        for location in m.location_ids
    }


def _to_login():
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return _to_login()
        return view(*args, **kwargs)

    return declare_policy(wrapper, Policy("login"))


def require(*roles: str, location: str | None = None):
    for role in roles:
        Role(role)  # a typo in a role name fails at import time

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return _to_login()
            location_id = kwargs.get(location) if location else None
            if location and not isinstance(location_id, uuid.UUID):
                abort(404)
            if not can(current_user, roles, tenant=g.get("tenant"), location_id=location_id):
                abort(403)
            return view(*args, **kwargs)

        return declare_policy(wrapper, Policy("roles", tuple(roles), location))

    return decorator
