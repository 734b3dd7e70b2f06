"""Links between the region's hosts. Flask's own SERVER_NAME is left unset on purpose: it would
make every external URL point at the regional host, whichever portal built it."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for


def host_for(tenant) -> str:
    region = current_app.config["REGION_SERVER_NAME"]
    return region if tenant is None else f"{tenant.subdomain}.{region}"


def portal_url(tenant, endpoint: str = "web.home", **values) -> str:
    """Absolute URL of ``endpoint`` on ``tenant``'s portal (``None``: the regional portal)."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    adapter = current_app.url_map.bind(host_for(tenant), url_scheme=scheme)
    return adapter.build(endpoint, values, force_external=True)


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only same-host relative paths; anything else falls back to the home page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default or url_for("web.home")


def switch_url(tenant, endpoint: str = "web.home", **values) -> str:
    """A link to another portal that takes the login along (see accounts ``go``)."""
    from flask_login import current_user

    target = portal_url(tenant, endpoint, **values)
    if getattr(current_user, "is_authenticated", False):
        return url_for("accounts.go", to=target)
    return target
