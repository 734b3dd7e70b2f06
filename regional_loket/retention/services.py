"""What the retention purge removes, decided in one place (``plan``) and carried out one
request, one family or one account per transaction (``purge_request``, ``purge_family``,
``warn_account``, ``remove_account``); the job and ``flask retention run`` commit after each.

The rules (docs/ARCHITECTURE.md, "Retention"):

- A request is *expired* when it is closed — its status, by ``care_requests.request_status``'s
  one rule, is placed, withdrawn (every choice ended: every application rejected included) or
  inactive — or an untouched draft, and nothing happened to it (the request row or any event of
  any of its applications, in every municipality) since the cut-off: ``RETENTION_YEARS`` ago.
- A family whose requests are all expired and that shows no activity since the cut-off (its
  details, its children, a login of a guardian) is erased as a whole through
  ``families.privacy.erase`` — the same path as a family erasing itself, except that accepted
  places stay accepted (``keep_places``): a placement years ago is history, not a place to give
  back. Otherwise each expired request goes alone (``care_requests.privacy.erase_request``),
  with the family's old mails and call-list entries. Either way, the applications stay in the
  municipalities' lists, anonymised (``applications.services.anonymise``), and the statistics
  records of the request are written first, frozen (``statistics.services.record_requests``).
- Accounts: only accounts that are nothing but a parent's (no staff, coordinator, referrer or
  administrator role) and whose family holds no request any more (the request rule above
  governs a family's data; an account is removed only once it carries nothing else). Unused for
  ``ACCOUNT_UNUSED_DAYS`` (no login, no session seen), the owner is mailed once; still unused
  ``ACCOUNT_REMOVAL_NOTICE_DAYS`` after the warning, the account is removed as if its owner
  deleted it (the family's remaining data with it); a login in between cancels the warning.
  Roles given by a municipality or the region are theirs to take away: such accounts are only
  counted (``staff_unused``), never removed here — and the last administrator never is.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..accounts import Role, User
from ..accounts import services as accounts
from ..applications import Application, ApplicationEvent
from ..care_requests import CareRequest, RequestStatus
from ..care_requests import privacy as request_privacy
from ..coordinator import call_list
from ..families import Family, Guardian
from ..families import privacy as family_privacy
from ..months import same_day_months_later
from ..notifications import Notification
from ..notifications.services import notify
from ..statistics import services as statistics
from ..tenancy import Tenant, tenant_scope
from ..web.urls import portal_url

# Closed by the one rule (``care_requests.services.request_status``); a draft never submitted
# and left alone that long is no live request either.
EXPIRING = (RequestStatus.PLACED, RequestStatus.WITHDRAWN, RequestStatus.INACTIVE, RequestStatus.DRAFT)
PARENT_ONLY = frozenset({Role.PARENT})


@dataclass(frozen=True)
class Settings:
    retention_years: int = 5
    unused_days: int = 3 * 365
    notice_days: int = 30

    @classmethod
    def of(cls, config) -> Settings:
        return cls(int(config.get("RETENTION_YEARS", 5)), int(config.get("ACCOUNT_UNUSED_DAYS", 3 * 365)),
                   int(config.get("ACCOUNT_REMOVAL_NOTICE_DAYS", 30)))

    def cutoff(self, now: datetime) -> datetime:
        """``retention_years`` before ``now``, to the day (29 February → 28 February)."""
        return datetime.combine(same_day_months_later(now.date(), -12 * self.retention_years), now.timetz())


@dataclass
class Plan:
    """What a run removes, as ids only (the dry run prints it; the logs and job records never
    hold a name)."""

    cutoff: datetime
    families: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)  # erased whole: family → requests
    requests: list[uuid.UUID] = field(default_factory=list)  # erased alone, the family staying
    warn: list[uuid.UUID] = field(default_factory=list)  # accounts to warn
    remove: list[uuid.UUID] = field(default_factory=list)  # accounts to remove
    cancel: list[uuid.UUID] = field(default_factory=list)  # warnings a later use cancels
    staff_unused: int = 0  # unused accounts with a role we never remove here

    def counts(self) -> dict[str, int]:
        return {"families": len(self.families), "family_requests": sum(map(len, self.families.values())),
                "requests": len(self.requests), "accounts_warned": len(self.warn),
                "accounts_removed": len(self.remove), "warnings_cancelled": len(self.cancel),
                "staff_unused": self.staff_unused}


# --- deciding --------------------------------------------------------------------------------------


def expired_requests(session: Session, *, before: datetime, among=None) -> list[CareRequest]:
    """Closed (or draft) requests with no activity since ``before`` (of the ids ``among``, when
    given): the request row itself, then any event of its applications, read per municipality
    in one statement each."""
    query = select(CareRequest).where(CareRequest.status.in_(EXPIRING), CareRequest.updated_at < before)
    if among is not None:
        query = query.where(CareRequest.id.in_(list(among)))
    candidates = list(session.scalars(query.options(selectinload(CareRequest.choices))
                                      .order_by(CareRequest.updated_at, CareRequest.id)))
    by_tenant: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for care in candidates:
        for choice in care.choices:
            if choice.application_id is not None:
                by_tenant[choice.tenant_id].append(care.id)
    recent: set[uuid.UUID] = set()
    for tenant in session.scalars(select(Tenant).where(Tenant.id.in_(list(by_tenant)))) if by_tenant else ():
        with tenant_scope(session, tenant):
            recent.update(session.scalars(
                select(Application.request_id).join(ApplicationEvent, ApplicationEvent.application_id == Application.id)
                .where(Application.request_id.in_(by_tenant[tenant.id]), ApplicationEvent.at >= before)
                .distinct()))
    return [care for care in candidates if care.id not in recent]


def _family_active_since(session: Session, family: Family, before: datetime) -> bool:
    """The family's own data changed, or a guardian logged in, since ``before``."""
    if family.updated_at >= before or any(child.updated_at >= before for child in family.children):
        return True
    users = [g.user_id for g in family.guardians if g.user_id is not None]
    return bool(users) and session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(users), User.last_login_at >= before)) > 0


def _has_requests(session: Session, user_id: uuid.UUID) -> bool:
    return session.scalar(select(CareRequest.id).join(Guardian, Guardian.family_id == CareRequest.family_id)
                          .where(Guardian.user_id == user_id).limit(1)) is not None


def plan(session: Session, settings: Settings, *, now: datetime) -> Plan:
    """Everything a run at ``now`` removes, without changing anything."""
    result = Plan(cutoff=settings.cutoff(now))
    expired = expired_requests(session, before=result.cutoff)
    by_family: dict[uuid.UUID, list[CareRequest]] = defaultdict(list)
    for care in expired:
        by_family[care.family_id].append(care)
    for family_id, cares in by_family.items():
        family = session.get(Family, family_id)
        others = session.scalar(select(func.count()).select_from(CareRequest).where(
            CareRequest.family_id == family_id, CareRequest.id.not_in([c.id for c in cares])))
        if not others and not _family_active_since(session, family, result.cutoff):
            result.families[family_id] = [c.id for c in cares]
        else:
            result.requests.extend(c.id for c in cares)
    whole = set(result.families)

    for user, used in accounts.warned_accounts(session):
        if used > user.unused_warned_at:
            result.cancel.append(user.id)
        elif user.unused_warned_at <= now - timedelta(days=settings.notice_days):
            result.remove.append(user.id)
    for user, _used in accounts.unused_accounts(session, before=now - timedelta(days=settings.unused_days)):
        if user.unused_warned_at is not None:
            continue
        if not user.roles() <= PARENT_ONLY:
            result.staff_unused += 1
            continue
        family = session.scalar(select(Guardian.family_id).where(Guardian.user_id == user.id))
        # A family erased whole in this run carries nothing any more: its account is warned now.
        if family not in whole and _has_requests(session, user.id):
            continue
        result.warn.append(user.id)
    return result


# --- carrying it out (each in the caller's transaction; the caller commits after each) ------------


def _old_mails(session: Session, family: Family, *, before: datetime) -> int:
    """The family's e-mails in the outbox from before the cut-off (they name its children)."""
    emails = [g.email for g in family.guardians if g.email]
    users = [g.user_id for g in family.guardians if g.user_id]
    if not emails and not users:
        return 0
    return session.execute(delete(Notification).where(
        or_(Notification.recipient_email.in_(emails), Notification.recipient_user_id.in_(users)),
        Notification.created_at < before), execution_options={"synchronize_session": False}).rowcount


def purge_request(session: Session, request_id: uuid.UUID, *, before: datetime, now: datetime, today: date,
                  zone: ZoneInfo) -> bool:
    """Erase one expired request whose family stays; False when it is gone or live again."""
    care = session.get(CareRequest, request_id, with_for_update=True)
    if care is None or not expired_requests(session, before=before, among=[care.id]):
        return False
    statistics.record_requests(session, [care], today=today, zone=zone)
    family = session.get(Family, care.family_id)
    call_list.forget_old_news(session, family, before=before)  # read while the request still names its municipalities
    _old_mails(session, family, before=before)
    request_privacy.erase_request(session, care, now=now)
    return True


def purge_family(session: Session, family_id: uuid.UUID, *, before: datetime, now: datetime, today: date,
                 zone: ZoneInfo) -> bool:
    """Erase a family whose requests all expired, as a whole; False when something changed."""
    family = session.get(Family, family_id, with_for_update=True)
    if family is None or _family_active_since(session, family, before):
        return False
    cares = list(session.scalars(select(CareRequest).where(CareRequest.family_id == family_id)))
    if len(expired_requests(session, before=before, among=[c.id for c in cares])) != len(cares):
        return False
    statistics.record_requests(session, cares, today=today, zone=zone)
    family_privacy.erase(session, family, actor_id=None, now=now, keep_places=True)
    return True


def warn_account(session: Session, user_id: uuid.UUID, *, settings: Settings, now: datetime) -> bool:
    """Mail the owner of an unused account once that it will be removed, and when. Once: the
    account keeps the warning's time (cleared by a login), and the mail's key is the day's."""
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None or user.unused_warned_at is not None:
        return False
    removal = (now + timedelta(days=settings.notice_days)).date()
    notify(session, recipient_email=user.email, recipient_user_id=user.id, language=user.language,
           template="account_unused", idempotency_key=f"account-unused:{user.id}:{now.date().isoformat()}",
           data={"name": user.name, "removal": removal.isoformat(), "url": portal_url(None, "accounts.login")})
    user.unused_warned_at = now
    return True


def cancel_warning(session: Session, user_id: uuid.UUID) -> bool:
    user = session.get(User, user_id)
    if user is None or user.unused_warned_at is None:
        return False
    user.unused_warned_at = None
    return True


def remove_account(session: Session, user_id: uuid.UUID, *, forget, now: datetime) -> bool:
    """Remove an account warned long enough ago and not used since: what other domains keep of
    the person goes first (``forget``: the account deletion hooks, e.g. the family), then the
    account is anonymised exactly as when its owner deletes it, and every mail to it is deleted
    (the warning included: it named the owner; the warning already said when this would
    happen, so no mail follows). The last administrator is never removed (LastAdminError)."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.deleted_at is not None or user.unused_warned_at is None:
        return False
    if not user.roles() <= PARENT_ONLY or accounts.is_last_active_admin(session, user):
        return False
    if _has_requests(session, user.id):  # the desk filed a request for the family meanwhile
        return False
    email = user.email
    for hook in forget:
        hook(session, user.id, now=now)
    accounts.delete_account(session, user, now=now)
    session.execute(delete(Notification).where(or_(Notification.recipient_user_id == user_id,
                                                   Notification.recipient_email == email)),
                    execution_options={"synchronize_session": False})
    return True

