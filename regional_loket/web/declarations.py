"""What a view declares about who may open it, read by ``tests/test_policy.py``.

The rules behind the declarations (roles, memberships, ``can``) are the accounts domain's
(``accounts.policy`` builds ``login_required`` and ``require`` on :func:`declare_policy`). The
marker lives here, below every domain, so the web layer's own pages can be ``@public``
without the web layer depending on accounts (which depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    kind: str  # public | login | roles
    roles: tuple[str, ...] = ()
    location_arg: str | None = None


def declare_policy(view, policy: Policy):
    view.policy = policy
    return view


def public(view):
    """Anyone may open this view."""
    return declare_policy(view, Policy("public"))
