"""The municipality's audit log: every read of a family's dossier or application by staff,
the desk, a referrer or an administrator, and every change, recorded in the tenant schema
whose rows they are (who: user id and role; when; what: action and subject; read or change;
from which host).

- ``record`` (and ``record_read`` / ``record_change``) writes an entry; views use
  ``audit.web.record_view``, which fills in the signed-in user, the host and the time.
- ``trail`` records every application change through the lifecycle's listener.
- ``queries`` reads it: the coordinator's page (``coordinator/audit.py``) and the family's
  download (``reads_of_family``).

The table itself (``tenancy.AuditEntry``) stays in ``tenancy``, below every domain: this
package listens to ``applications``, whose erasure line writes the table too.
"""

from flask import Flask, request

from ..extensions import db
from .services import (
    ACTION_LABELS,
    KIND_LABELS,
    SYSTEM_ROLE,
    Action,
    Kind,
    action_label,
    actor_role_label,
    family_of_request,
    kind_label,
    origin,
    record,
    record_change,
    record_read,
    record_region,
    register_family_lookup,
    set_origin,
)

__all__ = [
    "ACTION_LABELS", "KIND_LABELS", "SYSTEM_ROLE", "Action", "Kind", "action_label", "actor_role_label",
    "family_of_request", "init_app", "kind_label", "origin", "record", "record_change", "record_read",
    "record_region", "register_family_lookup", "set_origin",
]


def init_app(app: Flask) -> None:
    """The change listener, the host of each web request for it, and the labels for templates."""
    from . import trail  # noqa: F401 — registers its listener

    app.before_request(_remember_host)
    app.jinja_env.filters["audit_action_label"] = action_label
    app.jinja_env.filters["audit_kind_label"] = kind_label
    app.jinja_env.filters["audit_role_label"] = actor_role_label


def _remember_host() -> None:
    set_origin(db.session, request.host)
