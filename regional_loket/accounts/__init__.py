"""Accounts, roles and sessions: one login for the whole region, authorization in one layer."""

from __future__ import annotations

import uuid

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from sqlalchemy.orm import joinedload

from .. import jobs as job_plumbing
from ..extensions import db, login_manager
from . import passwords
from .jobs import PURGE, purge_sessions_and_tokens
from .models import Membership, Role, User
from .policy import allowed_locations, can, login_required, public, require
from .sessions import ServerSessionInterface, raise_if_unavailable

__all__ = ["Membership", "Role", "User", "allowed_locations", "can", "client_address", "forget_on_deletion",
           "forgetters", "init_app", "login_required", "public", "require", "role_label"]


def init_app(app: Flask) -> None:
    app.session_interface = ServerSessionInterface()
    app.before_request(raise_if_unavailable)
    passwords.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # our login page explains itself
    login_manager.user_loader(_load_user)

    from . import cli, demo, views  # noqa: F401 — demo registers its loader

    app.register_blueprint(views.bp)
    app.jinja_env.filters["role_label"] = role_label
    _rate_limits(app)
    app.cli.add_command(cli.accounts)

    job_plumbing.register_periodic(app, purge_sessions_and_tokens, every=3600, name=PURGE)


def forget_on_deletion(app: Flask, forget) -> None:
    """Have ``forget(session, user_id, now=…)`` erase what another domain keeps of a person,
    in the same transaction, before their account is deleted (the families domain decides what
    of a family stays). Registered per app, so accounts never imports the domains that use it."""
    app.extensions.setdefault("account_deletion", []).append(forget)


def forgetters(app: Flask) -> list:
    return app.extensions.get("account_deletion", [])


# POSTs of these endpoints are rate limited per client address, with the configured limits.
RATE_LIMITED = {
    "accounts.login": "RATELIMIT_LOGIN",
    "accounts.register": "RATELIMIT_REGISTER",
    "accounts.forgot_password": "RATELIMIT_RESET",
    "accounts.reset_password": "RATELIMIT_RESET",
    "accounts.resend_verification": "RATELIMIT_RESEND",
    "accounts.change_email": "RATELIMIT_RESEND",
}


def client_address() -> str:
    """The visitor's address: the peer, or behind ``PROXY_HOPS`` proxies the address the
    nearest of them saw (``ProxyFix`` in ``create_app`` has put it in ``remote_addr``).
    Rate limits and login throttling key on it."""
    return request.remote_addr or "unknown"


def _rate_limits(app: Flask) -> None:
    """Flask-Limiter with Redis storage. One Limiter per app, not one at module level: the
    extension keeps its storage and switches on the instance, so a second app (tests, a
    worker) would otherwise take over the first one's limits."""
    limiter = Limiter(client_address, app=app)
    for endpoint, key in RATE_LIMITED.items():
        app.view_functions[endpoint] = limiter.limit(app.config[key], methods=["POST"])(
            app.view_functions[endpoint])
    app.extensions["rate_limiter"] = limiter


ROLE_LABELS = {
    Role.PARENT: _l("Ouder"),
    Role.REFERRER: _l("Toeleider"),
    Role.PROVIDER_STAFF: _l("Medewerker opvang"),
    Role.COORDINATOR: _l("Coördinator"),
    Role.ADMIN: _l("Regiobeheerder"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def _load_user(user_id: str) -> User | None:
    try:
        # Usually already in the identity map: the browser session's statement loads its user
        # and memberships (``sessions.open_session``). Otherwise the memberships in the same
        # statement (they are selectin-loaded by default: a second round trip).
        user = db.session.get(User, uuid.UUID(user_id), options=[joinedload(User.memberships)])
    except ValueError:
        return None
    return user if user is not None and user.is_active else None
