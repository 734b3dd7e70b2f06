"""Account operations. Each takes the ORM session it works in (the caller commits) and the
people involved explicitly; nothing here reads the request."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ..database import utcnow
from . import passwords
from .models import Membership, Role, ServerSession, User

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
LANGUAGES = ("nl", "fr", "en")
@cache
def _dummy_hash() -> str:
    """Verifying against a real hash for unknown addresses keeps both answers equally slow
    (made on first use: hashing at import would slow every command's start-up)."""
    return passwords.hash_password("not a password of anyone at all")


class AccountError(ValueError):
    """A refused account operation; the message is translated and meant for the user."""


def normalise_email(email: str) -> str | None:
    """The canonical, lower-cased address, or None when it is not an e-mail address."""
    if not email or len(email) > 254:
        return None
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def find_user(session: Session, email: str) -> User | None:
    normalised = normalise_email(email)
    if normalised is None:
        return None
    return session.scalar(select(User).where(User.email == normalised, User.deleted_at.is_(None)))


def register(session: Session, *, email: str, password: str, name: str, language: str = "nl",
             phone: str | None = None) -> tuple[User, bool]:
    """Create a parent account, unverified. Returns ``(user, created)``; an address that is
    already taken returns the existing user and False, so the caller can answer exactly as for a
    new one (no account enumeration) and mail the owner instead."""
    normalised = normalise_email(email)
    if normalised is None:
        raise ValueError("not an e-mail address")
    existing = session.scalar(select(User).where(User.email == normalised))
    if existing is not None:
        return existing, False
    user = User(
        email=normalised, name=name.strip(), phone=(phone or "").strip() or None,
        language=language if language in LANGUAGES else "nl",
        password_hash=passwords.hash_password(password), password_changed_at=utcnow(),
        failed_logins=0, active=True,
        memberships=[Membership(role=Role.PARENT, location_ids=[])],
    )
    session.add(user)
    session.flush()
    return user, True


def mark_verified(user: User, *, email: str, now: datetime) -> bool:
    """Verify ``email`` for ``user`` if it is still the account's address."""
    if user.email != email:
        return False
    if user.verified_at is None:
        user.verified_at = now
    return True


@dataclass(frozen=True)
class Attempt:
    user: User | None
    outcome: str  # ok | invalid | locked | just_locked | unverified

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def authenticate(session: Session, email: str, password: str, *, now: datetime) -> Attempt:
    user = find_user(session, email)
    if user is None or not user.is_active:
        passwords.verify_password(_dummy_hash(), password)
        return Attempt(None, "invalid")
    if user.locked_until is not None and user.locked_until > now:
        return Attempt(user, "locked")
    if not passwords.verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins = 0
            user.locked_until = now + LOCK_FOR
            return Attempt(user, "just_locked")
        return Attempt(user, "invalid")
    if not user.is_verified:
        return Attempt(user, "unverified")
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return Attempt(user, "ok")


def unlock(user: User) -> None:
    user.locked_until = None
    user.failed_logins = 0


def set_password(session: Session, user: User, password: str, *, keep_session: str | None = None) -> None:
    """New password; every other session of the user ends (on every host)."""
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    unlock(user)
    revoke_sessions(session, user.id, keep=keep_session)


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does: binds a reset link to the password it replaces."""
    import hashlib

    return hashlib.sha256((user.password_hash or "-").encode()).hexdigest()[:16]


def change_email(session: Session, user: User, new_email: str) -> None:
    normalised = normalise_email(new_email)
    if normalised is None:
        raise ValueError("not an e-mail address")
    taken = session.scalar(select(User.id).where(User.email == normalised, User.id != user.id))
    if taken:
        from flask_babel import lazy_gettext as _l

        raise AccountError(_l("Dit e-mailadres kan niet gebruikt worden."))
    user.email = normalised
    user.verified_at = utcnow()  # the link that brought us here was sent to that address


def update_profile(user: User, *, name: str, phone: str | None, language: str) -> None:
    user.name = name.strip()
    user.phone = (phone or "").strip() or None
    user.language = language if language in LANGUAGES else user.language


# --- sessions --------------------------------------------------------------------------------


def revoke_sessions(session: Session, user_id: uuid.UUID, *, keep: str | None = None) -> int:
    """End every session of a user on every host (keep: one session id hash to spare)."""
    query = delete(ServerSession).where(ServerSession.user_id == user_id)
    if keep:
        query = query.where(ServerSession.id_hash != keep)
    return session.execute(query, execution_options={"synchronize_session": False}).rowcount


def end_login(session: Session, login_id: uuid.UUID) -> int:
    """Log out: the sessions of this login on every host it was handed to."""
    return session.execute(
        delete(ServerSession).where(ServerSession.login_id == login_id),
        execution_options={"synchronize_session": False},
    ).rowcount


def login_alive(session: Session, login_id: uuid.UUID, *, now: datetime) -> bool:
    return bool(session.scalar(
        select(func.count()).select_from(ServerSession)
        .where(ServerSession.login_id == login_id, ServerSession.expires_at > now)
    ))


def list_sessions(session: Session, user_id: uuid.UUID, *, now: datetime) -> list[ServerSession]:
    return list(session.scalars(
        select(ServerSession)
        .where(ServerSession.user_id == user_id, ServerSession.expires_at > now)
        .order_by(ServerSession.last_seen_at.desc())
    ))


def purge_expired_sessions(session: Session, *, now: datetime) -> int:
    return session.execute(delete(ServerSession).where(ServerSession.expires_at <= now)).rowcount


# --- memberships -----------------------------------------------------------------------------


def grant(session: Session, user: User, role: str, *, tenant=None,
          location_ids: Iterable[uuid.UUID] = (), organisation: str | None = None) -> Membership:
    """Give ``user`` a role (idempotent for the same role and tenant: locations are merged)."""
    role = Role(role)
    if (role in (Role.PROVIDER_STAFF, Role.COORDINATOR)) != (tenant is not None):
        raise ValueError(f"role {role} {'needs' if tenant is None else 'takes no'} municipality")
    for membership in user.memberships:
        if membership.role == role and membership.tenant_id == (tenant.id if tenant else None):
            merged = list(dict.fromkeys([*membership.location_ids, *location_ids]))
            membership.location_ids = merged
            if organisation:
                membership.organisation = organisation
            return membership
    membership = Membership(role=role, tenant_id=tenant.id if tenant else None,
                            location_ids=list(location_ids), organisation=organisation)
    user.memberships.append(membership)
    session.flush()
    return membership


def remove_membership(session: Session, user: User, membership_id: uuid.UUID) -> None:
    for membership in list(user.memberships):
        if membership.id == membership_id:
            user.memberships.remove(membership)
            session.flush()
            return
    raise LookupError(membership_id)


def team(session: Session, tenant) -> list[tuple[User, Membership]]:
    """The municipality's coordinators and provider staff."""
    rows = session.execute(
        select(User, Membership).join(Membership)
        .where(Membership.tenant_id == tenant.id, User.deleted_at.is_(None))
        .order_by(Membership.role, User.name)
    )
    return [(user, membership) for user, membership in rows]


def search_users(session: Session, text: str, *, page: int, per_page: int = 25) -> tuple[list[User], int]:
    query = select(User).where(User.deleted_at.is_(None))
    text = (text or "").strip()[:100]
    if text:
        pattern = f"%{text.lower().replace('%', '').replace('_', '')}%"
        query = query.where(or_(User.email.like(pattern), func.lower(User.name).like(pattern)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    users = session.scalars(query.order_by(User.name, User.email).limit(per_page).offset((page - 1) * per_page))
    return list(users), total


def delete_account(session: Session, user: User, *, now: datetime) -> None:
    """Remove the person from the account; the row stays (anonymised) for referential history.
    The family's own data is erased by the families domain."""
    revoke_sessions(session, user.id)
    user.email = f"deleted-{user.id}@invalid"
    user.name = ""
    user.phone = None
    user.password_hash = None
    user.active = False
    user.deleted_at = now
    user.memberships.clear()
