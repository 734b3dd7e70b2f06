"""Invitations to a municipality's team: a coordinator invites provider staff to some of the
municipality's locations, an administrator invites a coordinator (``role``); the link in the
mail creates an account (name and password, the address verified by the link) or links the
existing one, and the result is a membership of that municipality in the invitation's role
(provider staff: with exactly those locations).

An invitation is a row (``shared.staff_invitations``), so the desk's staff list can show it,
resend it and cancel it. The link is a signed token (``tokens``, purpose ``invite``) naming the
row and its ``nonce``; a resend renews the nonce, so only the newest link works, and accepting
consumes the token's ``jti``. Which locations belong to the municipality is the caller's check
(accounts knows no locations). Functions take the session, the people and the time; the caller
commits and writes the audit entry.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Uuid,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import languages
from ..database import SHARED_SCHEMA, Timestamps, UUIDKey
from ..extensions import db
from ..notifications.services import notify
from . import passwords, tokens
from .models import Membership, Role, User
from .services import AccountError, grant, normalise_email

PURPOSE = "invite"
VALID_FOR = tokens.MAX_AGE[PURPOSE]


# The roles an invitation can give: both belong to one municipality.
INVITED_ROLES = (Role.PROVIDER_STAFF, Role.COORDINATOR)


class StaffInvitation(UUIDKey, Timestamps, db.Model):
    """An address invited to a municipality's team: provider staff of some of its locations, or
    its coordinator (no locations: a coordinator handles all of them)."""

    __tablename__ = "staff_invitations"
    __table_args__ = (
        CheckConstraint("role IN ('provider_staff', 'coordinator')", name="role"),
        Index("ix_staff_invitations_open", "tenant_id", "email", unique=True,
              postgresql_where=text("accepted_at IS NULL AND cancelled_at IS NULL")),
        {"schema": SHARED_SCHEMA},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20), default=Role.PROVIDER_STAFF, server_default="provider_staff")
    # The mail's language, chosen by the coordinator (the invitee has no account to say it yet).
    language: Mapped[str] = mapped_column(String(2))
    location_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="SET NULL"))
    nonce: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey(f"{SHARED_SCHEMA}.users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class InvitationError(AccountError):
    """Refused input; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field: str = "email"):
        super().__init__(message)
        self.message, self.field = str(message), field


def _renew(invitation: StaffInvitation, now: datetime) -> None:
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at, invitation.expires_at = now, now + VALID_FOR


def invite(session: Session, tenant, *, email: str, language: str, location_ids=(), actor_id: uuid.UUID | None,
           now: datetime, role: str = Role.PROVIDER_STAFF) -> StaffInvitation:
    """Invite ``email`` to ``tenant``'s team in ``role``: provider staff of ``location_ids``
    (already checked to be ``tenant``'s), or coordinator (no locations). Inviting an address
    with an open invitation renews that one with the new role, locations and language, so there
    is one link to follow. An address that already holds the role here is refused (staff: its
    locations are changed in the list instead)."""
    role = Role(role)
    if role not in INVITED_ROLES:
        raise ValueError(role)  # a programming error, not input
    address = normalise_email(email)
    if address is None:
        raise InvitationError(_l("Vul een geldig e-mailadres in, bv. naam@voorbeeld.be."))
    location_ids = list(dict.fromkeys(location_ids)) if role is Role.PROVIDER_STAFF else []
    if role is Role.PROVIDER_STAFF and not location_ids:
        raise InvitationError(_l("Kies minstens één locatie."), field="locations")
    if _membership_of(session, tenant.id, address, role) is not None:
        raise InvitationError(
            _l("Deze persoon is al medewerker van %(name)s; wijzig de locaties in de lijst.", name=tenant.name)
            if role is Role.PROVIDER_STAFF else
            _l("Deze persoon is al coördinator van %(name)s.", name=tenant.name))
    invitation = session.scalar(select(StaffInvitation).where(
        StaffInvitation.tenant_id == tenant.id, StaffInvitation.email == address,
        StaffInvitation.accepted_at.is_(None), StaffInvitation.cancelled_at.is_(None)).with_for_update())
    if invitation is None:
        invitation = StaffInvitation(tenant_id=tenant.id, email=address)
        session.add(invitation)
    invitation.role = role.value
    invitation.language = languages.or_default(language)
    invitation.location_ids = location_ids
    invitation.invited_by = actor_id
    _renew(invitation, now)
    session.flush()
    return invitation


def _membership_of(session: Session, tenant_id: uuid.UUID, email: str, role: Role) -> Membership | None:
    return session.scalar(select(Membership).join(User, User.id == Membership.user_id).where(
        User.email == email, User.deleted_at.is_(None), Membership.tenant_id == tenant_id,
        Membership.role == role))


def resend(invitation: StaffInvitation, *, now: datetime) -> None:
    """A fresh link valid for ``VALID_FOR`` again; the older link stops working."""
    if not invitation.is_open:
        raise LookupError(invitation.id)
    _renew(invitation, now)


def cancel(invitation: StaffInvitation, *, now: datetime) -> None:
    if not invitation.is_open:
        raise LookupError(invitation.id)
    invitation.cancelled_at = now


def open_invitation(session: Session, tenant, invitation_id: uuid.UUID, *, role: str = Role.PROVIDER_STAFF
                    ) -> StaffInvitation | None:
    """An open invitation of ``tenant`` to ``role`` (another municipality's, or another role's,
    is not found)."""
    invitation = session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.tenant_id != tenant.id or not invitation.is_open or invitation.role != role:
        return None
    return invitation


# --- the link ---------------------------------------------------------------------------------


def token_for(invitation: StaffInvitation, secret: tokens.Secret) -> str:
    return tokens.make(secret, PURPOSE, inv=str(invitation.id), n=invitation.nonce)


def read_token(session: Session, secret: tokens.Secret, token: str, *, tenant, now: datetime
               ) -> tuple[StaffInvitation, dict]:
    """The open invitation a link names, or TokenError: ``invalid`` (forged, another
    municipality's, replaced by a newer link, cancelled), ``expired`` or ``used``."""
    payload = tokens.read(secret, PURPOSE, token)
    try:
        invitation = session.get(StaffInvitation, uuid.UUID(str(payload.get("inv"))))
    except ValueError:
        raise tokens.TokenError("invalid") from None
    if invitation is None or invitation.tenant_id != tenant.id:
        raise tokens.TokenError("invalid")
    if invitation.accepted_at is not None:
        raise tokens.TokenError("used")
    if invitation.cancelled_at is not None:
        raise tokens.TokenError("cancelled")
    if payload.get("n") != invitation.nonce:
        raise tokens.TokenError("replaced")
    if invitation.is_expired(now):
        raise tokens.TokenError("expired")
    return invitation, payload


def account_for(session: Session, invitation: StaffInvitation) -> User | None:
    """The account the invited address already has, if any."""
    return session.scalar(select(User).where(User.email == invitation.email, User.deleted_at.is_(None)))


def accept_as_new(session: Session, tenant, invitation: StaffInvitation, payload: dict, *, name: str,
                  password: str, now: datetime) -> tuple[User, Membership]:
    """Create the invitee's account (verified: the link reached the address) holding only the
    invitation's role. Refused (AccountError) when the address got an account meanwhile."""
    if account_for(session, invitation) is not None:
        raise AccountError(_l("Dit e-mailadres heeft intussen een account. Meld u aan om de uitnodiging te "
                              "aanvaarden."))
    tokens.consume(session, PURPOSE, payload)
    user = User(email=invitation.email, name=name.strip(), language=invitation.language,
                password_hash=passwords.hash_password(password), password_changed_at=now, verified_at=now,
                active=True, memberships=[])
    session.add(user)
    session.flush()
    return user, _accept(session, tenant, invitation, user, now=now)


def accept_as(session: Session, tenant, invitation: StaffInvitation, payload: dict, user: User, *,
              now: datetime) -> Membership:
    """Link the logged-in owner of the invited address."""
    if user.email != invitation.email or not user.is_active:
        raise tokens.TokenError("invalid")
    tokens.consume(session, PURPOSE, payload)
    if user.verified_at is None:
        user.verified_at = now
    return _accept(session, tenant, invitation, user, now=now)


def _accept(session: Session, tenant, invitation: StaffInvitation, user: User, *, now: datetime) -> Membership:
    if invitation.tenant_id != tenant.id:
        raise tokens.TokenError("invalid")
    invitation.accepted_at, invitation.accepted_by = now, user.id
    # Merged with the same role the person got here meanwhile (grant is idempotent per municipality).
    membership = grant(session, user, invitation.role, tenant=tenant, location_ids=invitation.location_ids)
    session.flush()
    return membership


# --- the municipality's staff ------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRow:
    kind: str  # "member" (id: the membership) or "invitation" (id: the invitation)
    id: uuid.UUID
    name: str | None
    email: str
    location_ids: list[uuid.UUID]
    expires_at: datetime | None  # invitations only

    def status(self, now: datetime) -> str:
        if self.kind == "member":
            return "active"
        return "expired" if self.expires_at <= now else "invited"


def staff_page(session: Session, tenant, *, page: int, per_page: int, role: str = Role.PROVIDER_STAFF
               ) -> tuple[list[StaffRow], int]:
    """The municipality's provider staff (or coordinators: ``role``) and open invitations to
    that role, by name then address, one page of them and how many in all (one statement each)."""
    members = (
        select(literal("member").label("kind"), Membership.id.label("id"), User.name.label("name"),
               User.email.label("email"), Membership.location_ids.label("location_ids"),
               null().cast(DateTime(timezone=True)).label("expires_at"))
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant.id, Membership.role == role, User.deleted_at.is_(None)))
    invited = (
        select(literal("invitation"), StaffInvitation.id, null().cast(String), StaffInvitation.email,
               StaffInvitation.location_ids, StaffInvitation.expires_at)
        .where(StaffInvitation.tenant_id == tenant.id, StaffInvitation.role == role,
               StaffInvitation.accepted_at.is_(None), StaffInvitation.cancelled_at.is_(None)))
    rows = union_all(members, invited).subquery()
    total = session.scalar(select(func.count()).select_from(rows))
    found = session.execute(
        select(rows).order_by(func.lower(func.coalesce(func.nullif(rows.c.name, ""), rows.c.email)), rows.c.email,
                              rows.c.id)
        .limit(per_page).offset((page - 1) * per_page))
    return [StaffRow(*row) for row in found], total


def staff_member(session: Session, tenant, membership_id: uuid.UUID) -> tuple[User, Membership] | None:
    """A provider staff membership of ``tenant`` with its user (another municipality's: None)."""
    row = session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.id == membership_id, Membership.tenant_id == tenant.id,
               Membership.role == Role.PROVIDER_STAFF, User.deleted_at.is_(None))).first()
    return (row[0], row[1]) if row else None


def set_locations(membership: Membership, location_ids) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Replace the membership's locations (checked by the caller); returns (before, after)."""
    after = list(dict.fromkeys(location_ids))
    if not after:
        raise InvitationError(_l("Kies minstens één locatie."), field="locations")
    before = list(membership.location_ids)
    membership.location_ids = after
    return before, after


# --- the mail -----------------------------------------------------------------------------------


def coordinator_member(session: Session, tenant, membership_id: uuid.UUID) -> tuple[User, Membership] | None:
    """A coordinator membership of ``tenant`` with its user (another municipality's: None)."""
    row = session.execute(
        select(User, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.id == membership_id, Membership.tenant_id == tenant.id,
               Membership.role == Role.COORDINATOR, User.deleted_at.is_(None))).first()
    return (row[0], row[1]) if row else None


def active_coordinators(session: Session, tenant) -> int:
    """How many active, not deleted, accounts coordinate ``tenant``."""
    return session.scalar(select(func.count()).select_from(Membership).join(User, User.id == Membership.user_id)
                          .where(Membership.tenant_id == tenant.id, Membership.role == Role.COORDINATOR,
                                 User.active.is_(True), User.deleted_at.is_(None))) or 0


TEMPLATES = {Role.PROVIDER_STAFF: "staff_invitation", Role.COORDINATOR: "coordinator_invitation"}


def send(session: Session, invitation: StaffInvitation, *, tenant, url: str, inviter: str | None,
         location_names: list[str] = ()) -> None:
    """The invitation mail, in the language chosen for the invitee, through the outbox. The key
    holds the nonce: a resend is a new mail, a retried request the same one."""
    notify(session, recipient_email=invitation.email, language=invitation.language,
           template=TEMPLATES[Role(invitation.role)],
           idempotency_key=f"invite:{invitation.id}:{invitation.nonce}", tenant_slug=tenant.slug,
           data={"url": url, "municipality": tenant.name, "inviter": inviter or "", "locations": list(location_names),
                 "days": VALID_FOR.days})
