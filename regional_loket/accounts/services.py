"""Account operations. Each takes the ORM session it works in (the caller commits) and the
people involved explicitly; nothing here reads the request."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from .. import languages
from ..database import utcnow
from . import passwords
from .models import LoginThrottle, Membership, Role, ServerSession, User

# Login throttling. Wrong passwords never lock an account: a source that keeps failing for one
# address waits longer and longer (FIRST_DELAY after THROTTLE_AFTER failures, doubling up to
# MAX_DELAY), so a stranger only slows down himself. Failures from all sources together beyond
# ACCOUNT_CEILING (a spread-out attack) space every attempt for the address ACCOUNT_DELAY
# apart, which slows guessing but never stops a person for long; sources that gave the right
# password before are spared it. A quiet FORGET_AFTER starts the count afresh.
THROTTLE_AFTER = 5
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)
ACCOUNT_CEILING = 50
ACCOUNT_DELAY = timedelta(seconds=10)
FORGET_AFTER = timedelta(hours=24)
KNOWN_SOURCE_FOR = timedelta(days=90)
ALL_SOURCES = "*"
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
        language=languages.or_default(language),
        password_hash=passwords.hash_password(password), password_changed_at=utcnow(),
        active=True,
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
    outcome: str  # ok | invalid | throttled | unverified
    retry_at: datetime | None = None  # throttled: when this source may try again
    notify_owner: bool = False  # throttling just began: mail the owner the unlock link

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def authenticate(session: Session, email: str, password: str, *, source: str, now: datetime) -> Attempt:
    """Check a password typed at ``source`` (the client address). Unknown addresses are
    counted and throttled exactly like known ones, so the answers tell nothing about who has
    an account."""
    key = account_key(email)
    source = (source or "unknown")[:64]
    own = _throttle_row(session, key, source)  # locked: one source's attempts are counted one by one
    retry_at = _blocked_until(session, key, own, now=now)
    if retry_at is not None:
        return Attempt(None, "throttled", retry_at=retry_at)

    user = find_user(session, email)
    if user is None or not user.is_active:
        passwords.verify_password(_dummy_hash(), password)
        return _failed(session, key, own, None, now=now)
    if not passwords.verify_password(user.password_hash, password):
        return _failed(session, key, own, user, now=now)

    # The right password: whoever typed it here is the owner, whatever strangers did elsewhere.
    own.failures, own.blocked_until, own.first_failure_at, own.succeeded_at = 0, None, None, now
    _clear_account_wide(session, key)
    if not user.is_verified:
        return Attempt(user, "unverified")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    # A login cancels a pending "unused account" warning (``retention``): the owner is back.
    user.last_login_at, user.unused_warned_at = now, None
    return Attempt(user, "ok")


def account_key(email: str) -> str:
    """What throttling rows are keyed on: a hash of the address as the login form compares it."""
    address = normalise_email(email) or (email or "").strip().lower()
    return hashlib.sha256(address.encode()).hexdigest()


def _throttle_row(session: Session, key: str, source: str) -> LoginThrottle:
    """The row for (address, source), created if needed and locked until the caller commits."""
    session.execute(insert(LoginThrottle).values(account_key=key, source=source, failures=0)
                    .on_conflict_do_nothing())
    return session.scalars(
        select(LoginThrottle).where(LoginThrottle.account_key == key, LoginThrottle.source == source)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _blocked_until(session: Session, key: str, own: LoginThrottle, *, now: datetime) -> datetime | None:
    if own.blocked_until is not None and own.blocked_until > now:
        return own.blocked_until
    if own.succeeded_at is not None and own.succeeded_at > now - KNOWN_SOURCE_FOR:
        return None  # the owner's own browser is not slowed down by strangers
    account_wide = session.scalar(select(LoginThrottle.blocked_until).where(
        LoginThrottle.account_key == key, LoginThrottle.source == ALL_SOURCES))
    return account_wide if account_wide is not None and account_wide > now else None


def _count_failure(row: LoginThrottle, *, now: datetime) -> None:
    if row.last_failure_at is None or row.last_failure_at < now - FORGET_AFTER:
        row.failures, row.first_failure_at, row.notified_at = 0, now, None
    row.failures += 1
    row.last_failure_at = now


def _failed(session: Session, key: str, own: LoginThrottle, user: User | None, *, now: datetime) -> Attempt:
    _count_failure(own, now=now)
    if own.failures >= THROTTLE_AFTER:
        doublings = min(own.failures - THROTTLE_AFTER, 16)
        own.blocked_until = now + min(FIRST_DELAY * 2 ** doublings, MAX_DELAY)
    account_wide = _throttle_row(session, key, ALL_SOURCES)
    _count_failure(account_wide, now=now)
    if account_wide.failures >= ACCOUNT_CEILING:
        account_wide.blocked_until = now + ACCOUNT_DELAY
    throttled = own.failures >= THROTTLE_AFTER or account_wide.failures >= ACCOUNT_CEILING
    # One mail per run of failures, however many sources join in.
    notify = throttled and user is not None and account_wide.notified_at is None
    if notify:
        account_wide.notified_at = now
    if own.failures >= THROTTLE_AFTER:
        return Attempt(user, "throttled", retry_at=own.blocked_until, notify_owner=notify)
    return Attempt(user, "invalid", notify_owner=notify)


def _clear_account_wide(session: Session, key: str) -> None:
    session.execute(
        update(LoginThrottle).where(LoginThrottle.account_key == key, LoginThrottle.source == ALL_SOURCES)
        .values(failures=0, first_failure_at=None, blocked_until=None, notified_at=None),
        execution_options={"synchronize_session": False},
    )


def unlock(session: Session, user: User) -> None:
    """The owner's unlock link (or a new password): every source may try again at once."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.account_key == account_key(user.email)),
                    execution_options={"synchronize_session": False})


def purge_login_throttles(session: Session, *, now: datetime) -> int:
    """Rows that no longer count: failures forgotten, and no recent success to remember."""
    forgotten = or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < now - FORGET_AFTER)
    unknown = or_(LoginThrottle.succeeded_at.is_(None), LoginThrottle.succeeded_at < now - KNOWN_SOURCE_FOR)
    return session.execute(delete(LoginThrottle).where(forgotten, unknown),
                           execution_options={"synchronize_session": False}).rowcount


def set_password(session: Session, user: User, password: str, *, keep_session: str | None = None) -> None:
    """New password; every other session of the user ends (on every host)."""
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    unlock(session, user)
    revoke_sessions(session, user.id, keep=keep_session)


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does: binds a reset link to the password it replaces."""
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
    user.language = languages.or_default(language, user.language)


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


class LastAdminError(ValueError):
    """Refused: the region would be left without an active administrator, and only an
    administrator can give the role (the CLI aside). Nothing was changed."""

    def __init__(self):
        # Translated now, as a plain string (a lazy string counts as safe HTML in templates).
        self.message = str(_l("De regio moet minstens één actieve regiobeheerder houden. Geef eerst iemand "
                              "anders die rol."))
        super().__init__(self.message)


def is_last_active_admin(session: Session, user: User) -> bool:
    """Whether ``user`` is an active administrator and no other active, not deleted, user is."""
    if not user.active or user.deleted_at is not None or not any(m.role == Role.ADMIN for m in user.memberships):
        return False
    others = session.scalar(
        select(func.count()).select_from(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.role == Role.ADMIN, Membership.user_id != user.id,
               User.active.is_(True), User.deleted_at.is_(None)))
    return not others


def set_active(session: Session, user: User, active: bool) -> None:
    """Block or re-admit an account; blocking ends its sessions. Refuses to block the last
    active administrator (LastAdminError)."""
    if not active and is_last_active_admin(session, user):
        raise LastAdminError()
    user.active = active
    if not active:
        revoke_sessions(session, user.id)


def remove_membership(session: Session, user: User, membership_id: uuid.UUID) -> None:
    """Take a role away. Refuses the last active administrator's admin role (LastAdminError)."""
    for membership in list(user.memberships):
        if membership.id == membership_id:
            if membership.role == Role.ADMIN and is_last_active_admin(session, user):
                raise LastAdminError()
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


def staff_for_location(session: Session, tenant_id: uuid.UUID, location_id: uuid.UUID) -> list[User]:
    """The provider staff of one location of a municipality who can be mailed: active, not
    deleted, with a verified address (an unverified one may be someone else's)."""
    return list(session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.role == Role.PROVIDER_STAFF, Membership.tenant_id == tenant_id,
               Membership.location_ids.any(location_id), User.active.is_(True), User.deleted_at.is_(None),
               User.verified_at.is_not(None))
        .order_by(User.id).distinct()))


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
    The family's own data is erased by the families domain. Refuses the last active
    administrator (LastAdminError)."""
    if is_last_active_admin(session, user):
        raise LastAdminError()
    revoke_sessions(session, user.id)
    user.email = f"deleted-{user.id}@invalid"
    user.name = ""
    user.phone = None
    user.password_hash = None
    user.active = False
    user.deleted_at = now
    user.memberships.clear()


# --- unused accounts (their retention is the ``retention`` domain's) ----------------------------


def _last_used():
    """(user id, when the account was last used): the last login, or a session seen later
    (a remembered session is use without a login), or its creation when neither exists."""
    seen = (select(ServerSession.user_id, func.max(ServerSession.last_seen_at).label("seen"))
            .group_by(ServerSession.user_id).subquery())
    used = func.greatest(User.created_at, User.last_login_at, seen.c.seen)  # greatest() skips NULLs
    return select(User, used.label("used")).outerjoin(seen, seen.c.user_id == User.id).where(
        User.deleted_at.is_(None)), used


def unused_accounts(session: Session, *, before: datetime) -> list[tuple[User, datetime]]:
    """Accounts (not deleted) last used before ``before``, with when: oldest first."""
    query, used = _last_used()
    return [(user, at) for user, at in session.execute(query.where(used < before).order_by(used, User.id))]


def warned_accounts(session: Session) -> list[tuple[User, datetime]]:
    """Accounts warned that they will be removed as unused, with when they were last used."""
    query, used = _last_used()
    return [(user, at) for user, at in session.execute(
        query.where(User.unused_warned_at.is_not(None)).order_by(User.unused_warned_at, User.id))]
