"""The desk's call list: what a family without an e-mail address would have been mailed, kept
in the schema of the municipality whose desk phones it, until the family takes its dossier
over (then a guardian has an address and ``care_requests.tell_family`` mails again).

``care_requests`` does not know this list: it hands the news it cannot mail to the handlers
registered with ``when_unreachable`` (:func:`record_news`, registered by ``coordinator``).
Which desk: the one that filed the family (``Family.desk_tenant_id``), else the municipality of
the application the news is about. News that the desk (or a referrer) caused itself is not
put on the list: whoever acted for the family was talking to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Index, String, Text, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload

from ..applications import ActorRole, Application
from ..care_requests import CareRequest, Choice
from ..care_requests.labels import FAMILY_NEWS
from ..database import TENANT_PLACEHOLDER, UUIDKey, utcnow
from ..extensions import db
from ..families import Family
from ..tenancy import AuditEntry, Tenant, tenant_scope

MAX_NOTE = 500
# The family's own helper is on the line when these act: nothing to phone about afterwards.
SELF_TOLD = frozenset({ActorRole.DESK, ActorRole.REFERRER})


class CallEntry(UUIDKey, db.Model):
    """One piece of news to phone to a family; ``template`` and ``data`` are the mail's, so the
    page says it in the family's language with the mail's own words."""

    __tablename__ = "call_list"
    __table_args__ = (
        Index("ix_call_list_called_at_created_at", "called_at", "created_at"),
        {"schema": TENANT_PLACEHOLDER},
    )

    # A shared family id; no foreign key, so the tenant schema stays movable (Citus, exports).
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    # The news's outbox key (``update:<event>``…): the same news is put on the list once.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    called_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(Text)


class CallListError(ValueError):
    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message, self.field = str(message), field


# --- filling the list (a ``care_requests.when_unreachable`` handler) -----------------------------


def record_news(session: Session, family: Family, *, template: str, key: str, data: dict,
                tenant: Tenant | None, actor_role: str | None) -> CallEntry | None:
    """Put news that could not be mailed on the right desk's list, in the caller's
    transaction. Returns the entry, or None when nothing was put on a list."""
    if actor_role in SELF_TOLD:
        return None
    desk = session.get(Tenant, family.desk_tenant_id) if family.desk_tenant_id else tenant
    if desk is None:  # news about no application of a family no desk filed: no one to phone it
        return None
    values = {key_: value for key_, value in data.items() if key_ != "url"}  # the family's own link
    with tenant_scope(session, desk):
        # ON CONFLICT DO NOTHING: the same news (a retried change) is listed once.
        return session.scalars(
            insert(CallEntry).values(id=uuid.uuid4(), family_id=family.id, key=key[:200], template=template,
                                     data=values, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[CallEntry.key]).returning(CallEntry)
        ).one_or_none()


# --- reading it --------------------------------------------------------------------------------

FILTERS = ("open", "called", "all")


def _filtered(query, status: str):
    if status == "open":
        return query.where(CallEntry.called_at.is_(None)).order_by(CallEntry.created_at, CallEntry.id)
    if status == "called":
        return query.where(CallEntry.called_at.is_not(None)).order_by(CallEntry.called_at.desc(), CallEntry.id)
    return query.order_by(CallEntry.called_at.is_not(None), CallEntry.created_at.desc(), CallEntry.id)


@dataclass(frozen=True)
class Row:
    entry: CallEntry
    family: Family | None  # None once the family's data were erased

    @property
    def language(self) -> str:
        return self.family.language if self.family is not None else "nl"

    @property
    def names(self) -> str:
        return ", ".join(g.name for g in self.family.guardians) if self.family is not None else ""

    @property
    def phone(self) -> str:
        return (self.family.phone or "") if self.family is not None else ""


def open_count(session: Session) -> int:
    """Entries of the bound municipality not phoned yet (the desk's home)."""
    return session.scalar(select(func.count()).select_from(CallEntry).where(CallEntry.called_at.is_(None)))


def page_of(session: Session, *, status: str, page: int, per_page: int) -> tuple[list[Row], int]:
    """One page of the bound municipality's list and the number of entries under the filter:
    three statements (count, page, its families with their guardians)."""
    total = session.scalar(_filtered(select(func.count()).select_from(CallEntry), status).order_by(None))
    entries = list(session.scalars(_filtered(select(CallEntry), status).limit(per_page)
                                   .offset((page - 1) * per_page)))
    return _rows(session, entries), total


def all_rows(session: Session, *, status: str) -> list[Row]:
    return _rows(session, list(session.scalars(_filtered(select(CallEntry), status))))


def _rows(session: Session, entries: list[CallEntry]) -> list[Row]:
    ids = {e.family_id for e in entries}
    families = {f.id: f for f in session.scalars(
        select(Family).where(Family.id.in_(ids)).options(selectinload(Family.guardians)))} if ids else {}
    return [Row(entry, families.get(entry.family_id)) for entry in entries]


def describe(entry: CallEntry, language: str) -> str:
    """What happened, in ``language``, with the words of the mail the family would have had
    (its body). The mail's status words were said in the actor's language: said again here."""
    data = dict(entry.data or {})
    if data.get("news") in FAMILY_NEWS:
        data["status"] = FAMILY_NEWS[data["news"]]
    env = current_app.jinja_env
    with force_locale(language):
        template = env.get_template(f"email/{entry.template}.txt")
        context = template.new_context({"data": data})
        if "body" in template.blocks:
            text = "".join(template.blocks["body"](context))
        else:
            text = env.get_template(f"email/{entry.template}.subject.txt").render(data=data)
    return " ".join(text.split())


# --- marking it --------------------------------------------------------------------------------


def mark_called(session: Session, entry: CallEntry, *, actor_id: uuid.UUID, note: str | None,
                now: datetime) -> None:
    """The desk phoned the family about this entry; audited in the bound municipality."""
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise CallListError(_l("Een notitie heeft hoogstens %(n)s tekens.", n=MAX_NOTE), "note")
    if entry.called_at is not None:
        raise CallListError(_l("Dit gezin werd hiervoor al gebeld."))
    entry.called_at, entry.called_by, entry.note = now, actor_id, note
    session.add(AuditEntry(action="call_list.called", subject=f"family:{entry.family_id}", actor_id=actor_id,
                           detail={"entry": str(entry.id)}, note=note, at=now))


# --- whose families ------------------------------------------------------------------------------


def desk_knows(session: Session, tenant: Tenant, family: Family) -> bool:
    """Whether the bound municipality's desk has business with this family: its desk filed it,
    or one of the family's requests has an application at its locations."""
    if family.desk_tenant_id == tenant.id:
        return True
    request_ids = select(CareRequest.id).where(CareRequest.family_id == family.id)
    with tenant_scope(session, tenant):
        return session.scalar(select(Application.id).where(Application.request_id.in_(request_ids)).limit(1)
                              ) is not None


# --- the family's download and erasure (``families.keep_family_data``) ----------------------------


def _tenants_holding(session: Session, family: Family) -> list[Tenant]:
    """Where the family's entries can be: its desk and the municipalities of its choices (read
    before ``care_requests`` erases the requests: this eraser is registered first)."""
    ids = set(session.scalars(select(Choice.tenant_id).join(CareRequest, CareRequest.id == Choice.request_id)
                              .where(CareRequest.family_id == family.id)))
    ids |= {family.desk_tenant_id} if family.desk_tenant_id else set()
    return list(session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name))) if ids else []


def export_for_family(session: Session, family: Family) -> dict:
    """The ``call_list`` section of the family's download: what the desk was to phone about."""
    out = []
    for tenant in _tenants_holding(session, family):
        with tenant_scope(session, tenant):
            for entry in session.scalars(select(CallEntry).where(CallEntry.family_id == family.id)
                                         .order_by(CallEntry.created_at)):
                out.append({"municipality": tenant.name, "news": describe(entry, family.language),
                            "created_at": entry.created_at.isoformat(),
                            "called_at": entry.called_at.isoformat() if entry.called_at else None,
                            "note": entry.note})
    return {"call_list": out}


def erase_for_family(session: Session, family: Family, *, now: datetime, keep_places: bool = False) -> int:
    """The entries hold the child's first name and the desk's notes: they go with the family."""
    for tenant in _tenants_holding(session, family):
        with tenant_scope(session, tenant):
            session.execute(delete(CallEntry).where(CallEntry.family_id == family.id))
    return 0  # no application anonymised here


def forget_old_news(session: Session, family: Family, *, before: datetime) -> int:
    """The retention purge of one of the family's requests, the family staying: the family's
    entries listed before ``before`` (the retention period ago, so about requests that old)
    go, in every municipality that may hold them. Read before the request is deleted.
    Returns how many went."""
    count = 0
    for tenant in _tenants_holding(session, family):
        with tenant_scope(session, tenant):
            count += session.execute(delete(CallEntry).where(CallEntry.family_id == family.id,
                                                             CallEntry.created_at < before)).rowcount
    return count
