"""Links between the region's hosts. Flask's own SERVER_NAME is left unset on purpose: it would
make every external URL point at the regional host, whichever portal built it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, g, has_request_context, request, url_for

LANG_COOKIE = "lang"
LANG_PARAM = "lang"  # carries a visitor's language choice to another host of the region
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")


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
    """A link to another portal that takes the login and the language choice along (see
    accounts ``go``)."""
    from flask_login import current_user

    target = carry_language(portal_url(tenant, endpoint, **values))
    if getattr(current_user, "is_authenticated", False):
        return url_for("accounts.go", to=target)
    return target


# A host label no municipality can have (slugs and subdomains never start with a digit).
_PLACEHOLDER = "0rl-portal-placeholder"


@dataclass(frozen=True)
class _Placeholder:
    subdomain: str = _PLACEHOLDER


def switch_urls(tenants, endpoint: str = "web.home", **values) -> list[str]:
    """``switch_url`` of each tenant, for a list of hundreds (the region's directory): the links
    differ only in the host label, so one is built for a stand-in label and each tenant's
    subdomain put in its place (a label of letters, digits and hyphens: URL quoting leaves it
    as it is, in the host and in the hand-over's ``to``). A tenant whose portal is the one
    being answered gets its own ``switch_url`` (the language is not carried to the same host)."""
    template = switch_url(_Placeholder(), endpoint, **values)
    if template.count(_PLACEHOLDER) != 1:  # never expected; stay exact rather than fast
        return [switch_url(tenant, endpoint, **values) for tenant in tenants]
    here = request.host.lower() if has_request_context() else None
    return [switch_url(tenant, endpoint, **values) if host_for(tenant) == here
            else template.replace(_PLACEHOLDER, tenant.subdomain) for tenant in tenants]


def chosen_language() -> str | None:
    """The language this visitor chose explicitly: a valid ``lang`` parameter (brought from
    another host), else this host's ``lang`` cookie. Anything invalid counts as no choice."""
    if not has_request_context():
        return None
    languages = current_app.config["LANGUAGES"]
    for chosen in (request.args.get(LANG_PARAM), request.cookies.get(LANG_COOKIE)):
        if chosen in languages:
            return chosen
    return None


def carry_language(url: str) -> str:
    """``url`` with the visitor's language choice as a ``lang`` parameter when it leads to another
    host: the ``lang`` cookie is host-only, so the next host would not know it otherwise."""
    chosen = chosen_language()
    parts = urlsplit(url)
    if chosen is None or not parts.netloc or parts.netloc.lower() == request.host.lower():
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != LANG_PARAM]
    return urlunsplit(parts._replace(query=urlencode([*query, (LANG_PARAM, chosen)])))


def allow_form_action(origin: str) -> None:
    """Let the forms of the page being answered post into a redirect chain through ``origin``
    too (an origin of one of the region's own hosts, checked by the caller): chromium enforces
    the CSP ``form-action`` on every redirect after a POST, not only on the form's own action."""
    if _ORIGIN.fullmatch(origin):  # never lets anything but an origin into the header
        g.setdefault("form_action_origins", []).append(origin)


def form_action_sources() -> str:
    """The CSP ``form-action`` sources of this answer: 'self' and the origins allowed above."""
    extra = g.get("form_action_origins", []) if has_request_context() else []
    return " ".join(["'self'", *dict.fromkeys(extra)])
