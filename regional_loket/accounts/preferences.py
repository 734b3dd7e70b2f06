"""Which optional mails a person wants: the digests a role receives (the desk's daily overview of
late answers, the provider staff's weekly overview). Stored per person (``User.mail_preferences``,
the kinds turned off); a kind not named there is wanted, so adding a kind needs no migration.

Mails that are part of a procedure (a password reset, a family's news, a staff update about one
application) are never optional and never listed here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Membership, Role, User


@dataclass(frozen=True)
class OptionalMail:
    kind: str  # the key in ``User.mail_preferences``
    role: str  # who receives it: holders of this role
    label: object
    hint: object


DESK_DIGEST = "desk_digest"
STAFF_DIGEST = "staff_digest"

OPTIONAL_MAILS = {
    DESK_DIGEST: OptionalMail(
        DESK_DIGEST, Role.COORDINATOR, _l("Dagelijks overzicht van aanvragen die te lang wachten"),
        _l("Voor coördinatoren: elke ochtend dat er aanvragen te laat beantwoord zijn, per locatie.")),
    STAFF_DIGEST: OptionalMail(
        STAFF_DIGEST, Role.PROVIDER_STAFF, _l("Wekelijks overzicht van uw locaties"),
        _l("Voor medewerkers opvang: nieuwe en te late aanvragen, aanbiedingen die bijna verlopen en "
           "vrije plaatsen die bijgewerkt moeten worden.")),
}


def applicable(user: User) -> list[OptionalMail]:
    """The optional mails ``user`` receives by their roles (what their account page offers)."""
    roles = user.roles()
    return [mail for mail in OPTIONAL_MAILS.values() if mail.role in roles]


def wants(user: User, kind: str) -> bool:
    return (user.mail_preferences or {}).get(kind, True) is not False


def set_wanted(user: User, wanted: dict[str, bool]) -> None:
    """Record the person's choices for these kinds (unknown kinds are refused: a typo would
    otherwise store a preference that nothing reads)."""
    unknown = set(wanted) - set(OPTIONAL_MAILS)
    if unknown:
        raise ValueError(f"unknown optional mail(s): {', '.join(sorted(unknown))}")
    stored = dict(user.mail_preferences or {})
    for kind, on in wanted.items():
        if on:
            stored.pop(kind, None)
        else:
            stored[kind] = False
    user.mail_preferences = stored  # a new dict: SQLAlchemy sees the change


@dataclass(frozen=True)
class Recipient:
    user: User
    location_ids: frozenset[uuid.UUID]  # a provider staff member's locations here (empty otherwise)


def recipients(session: Session, tenant_id: uuid.UUID, kind: str) -> list[Recipient]:
    """Who gets the optional mail ``kind`` of one municipality: the holders of its role there who
    can be mailed (active, not deleted, verified address) and did not turn it off, in one
    statement; a provider staff member with the locations they handle in that municipality."""
    mail = OPTIONAL_MAILS[kind]
    rows = session.execute(
        select(User, Membership.location_ids).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == mail.role, Membership.tenant_id == tenant_id, User.active.is_(True),
               User.deleted_at.is_(None), User.verified_at.is_not(None),
               # Only an explicit false turns a mail off (``wants``); a kind absent is wanted.
               func.coalesce(User.mail_preferences[kind].astext, "true") != "false")
        .order_by(User.id))
    return [Recipient(user, frozenset(location_ids or ())) for user, location_ids in rows]
