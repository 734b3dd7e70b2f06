"""The header's back-office links, contributed by the domains, and who the header is for."""

from __future__ import annotations

from flask_login import current_user

# fn(user, tenant) → [(label, url)], one per domain with a back office.
_back_office: list = []


def register_back_office(provider):
    _back_office.append(provider)
    return provider


def signed_in_user():
    """The logged-in user, else None (anonymous visitors, and answers without a login manager)."""
    return current_user if getattr(current_user, "is_authenticated", False) else None


def back_office_links(user, tenant) -> list[dict]:
    """The back-office entries ``user`` has on the host of ``tenant`` (None: the region)."""
    if user is None:
        return []
    return [
        {"label": label, "url": url}
        for provider in _back_office
        for label, url in provider(user, tenant)
    ]
