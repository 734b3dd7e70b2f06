"""Writing the audit log: one entry per read of a family's dossier or application and per
change, in the municipality whose rows they are (``tenancy.AuditEntry``, the tenant's
``audit_log``). Services take everything explicitly; the views' helper (``audit.web``) and the
lifecycle's listener (``audit.trail``) fill in who, where and when."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..accounts import role_label
from ..tenancy import AuditEntry, RegionAuditEntry, tenant_scope


class Kind(enum.StrEnum):
    READ = "read"
    CHANGE = "change"


KIND_LABELS = {Kind.READ: _l("ingezien"), Kind.CHANGE: _l("gewijzigd")}

# The role of an actor that is no person: a rule or a job (expiry, erasure).
SYSTEM_ROLE = "system"


class Action(enum.StrEnum):
    """What was read. Changes to an application are ``application.<transition or event>``
    (``trail``); other domains may add their own codes (a dotted noun.verb)."""

    VIEW_APPLICATION = "application.view"  # the provider's (or the desk's) application page
    EXPORT_APPLICATIONS = "applications.export"  # a location's waiting lists as CSV/XLSX
    VIEW_REQUEST = "request.view"  # a referrer follows the family's request
    VIEW_FAMILY = "family.view"  # the desk opens a family's dossier (assisted intake, call lists)
    FAMILY_ERASED = "family_erased"  # the family's data were erased (applications.services.anonymise)


ACTION_LABELS = {
    Action.VIEW_APPLICATION: _l("aanvraag bekeken"),
    Action.EXPORT_APPLICATIONS: _l("wachtlijst geëxporteerd"),
    Action.VIEW_REQUEST: _l("opvangvraag bekeken"),
    Action.VIEW_FAMILY: _l("gezinsdossier bekeken"),
    Action.FAMILY_ERASED: _l("gegevens van een gezin gewist"),
    "application.submit": _l("aanvraag ingediend"),
    "application.mark_in_review": _l("aanvraag in behandeling genomen"),
    "application.waitlist": _l("aanvraag op de wachtlijst gezet"),
    "application.offer": _l("plaats aangeboden"),
    "application.cancel_offer": _l("aanbod ingetrokken"),
    "application.reject": _l("aanvraag afgewezen"),
    "application.accept": _l("aanbod aanvaard"),
    "application.decline": _l("aanbod geweigerd"),
    "application.withdraw": _l("aanvraag ingetrokken"),
    "application.expire": _l("aanbod verlopen"),
    "application.note": _l("notitie of criteria bij een aanvraag"),
    "application.message_provider": _l("bericht aan het gezin"),
    "application.message_family": _l("bericht van het gezin"),
    "application.change": _l("startdatum of opvangplan gewijzigd"),
    "application.reminder": _l("herinnering aan een aanbod verstuurd"),
    "application.paused": _l("aanvraag gepauzeerd (niet op tijd bevestigd)"),
    "application.resumed": _l("aanvraag weer actief (bevestigd)"),
    # What the desk, the region and staff change (coordinator, admin, catalog, tenancy).
    "desk.accept": _l("aanbod aanvaard door het loket"),
    "desk.decline": _l("aanbod geweigerd door het loket"),
    "desk.withdraw": _l("aanvraag ingetrokken door het loket"),
    "desk.change_plan": _l("opvangplan gewijzigd door het loket"),
    "desk.confirm": _l("aanvraag bevestigd door het loket"),
    "intake.family_filed": _l("gezinsdossier aangemaakt aan het loket"),
    "intake.claim_code_issued": _l("overnamecode uitgereikt"),
    "call_list.called": _l("gezin gebeld"),
    "location.create": _l("opvanglocatie aangemaakt"),
    "location.update": _l("opvanglocatie gewijzigd"),
    "location.activate": _l("opvanglocatie weer actief"),
    "location.deactivate": _l("opvanglocatie gedeactiveerd"),
    "organiser.create": _l("organisator aangemaakt"),
    "organiser.update": _l("organisator gewijzigd"),
    "organiser.delete": _l("organisator verwijderd"),
    "staff.invite": _l("medewerker uitgenodigd"),
    "staff.invitation_resend": _l("uitnodiging opnieuw verstuurd"),
    "staff.invitation_cancel": _l("uitnodiging geannuleerd"),
    "staff.invitation_accept": _l("uitnodiging aanvaard"),
    "staff.locations_change": _l("locaties van een medewerker gewijzigd"),
    "staff.revoke": _l("toegang van een medewerker ingetrokken"),
    "membership.grant": _l("rol toegekend"),
    "membership.remove": _l("rol verwijderd"),
    # The region's rules and yearly figures (admin): logged in every active municipality.
    "policy.add": _l("versie van de voorrangsregels toegevoegd"),
    "policy.update": _l("geplande versie van de voorrangsregels gewijzigd"),
    "income_threshold.add": _l("inkomensgrens voor voorrang toegevoegd"),
    "income_threshold.update": _l("inkomensgrens voor voorrang gewijzigd"),
    "income_tariff.add": _l("parameters van het inkomenstarief toegevoegd"),
    "income_tariff.update": _l("parameters van het inkomenstarief gewijzigd"),
    "settings.identity": _l("naam of huisstijl gewijzigd"),
    "settings.rules": _l("regels van de gemeente gewijzigd"),
    "settings.portal_texts": _l("teksten van het loket gewijzigd"),
    "settings.accessibility": _l("toegankelijkheidsverklaring gewijzigd"),
    "settings.logo": _l("logo opgeladen"),
    "settings.logo_removed": _l("logo verwijderd"),
    "jobs.retry": _l("mislukte taak opnieuw gestart"),
    "tenants.migrate_all": _l("migraties van alle gemeenten gestart"),
}


def action_label(code: str | None) -> str:
    """The action's label; a code without one is shown as it is (a domain's newer action)."""
    return str(ACTION_LABELS.get(code or "", code or ""))


def kind_label(code: str | None) -> str:
    return str(KIND_LABELS.get(code or "", code or ""))


def actor_role_label(code: str | None) -> str:
    """An account role's label, or the system's (a rule or a job)."""
    if code == SYSTEM_ROLE:
        return str(_l("systeem"))
    return role_label(code) if code else ""


def record(session: Session, tenant, *, actor_id: uuid.UUID | None, actor_role: str | None, kind: str,
           action: str, subject, family_id: uuid.UUID | None = None, host: str | None,
           detail: dict | None = None, note: str | None = None, now: datetime) -> AuditEntry:
    """Write one entry into ``tenant``'s audit log, in the caller's transaction (whichever
    tenant is bound: ``tenant_scope`` does the cross-tenant write). ``subject``: the id of
    what was read or changed (an application, a request, a family, a location). ``detail``
    holds ids and counts only — never names or words: the log outlives an erased family;
    ``note``: the desk's own words on a change (how the family consented), shown on the page."""
    kind = Kind(kind)  # a typo fails here, not in the check constraint at commit
    if tenant is None:
        if kind != Kind.CHANGE:
            raise ValueError("the region's log records changes only")
        return record_region(session, actor_id=actor_id, actor_role=actor_role, action=action, subject=subject,
                             host=host, detail=detail, note=note, now=now)
    with tenant_scope(session, tenant):
        entry = AuditEntry(id=uuid.uuid4(), at=now, kind=kind, actor_id=actor_id, actor_role=actor_role,
                           action=str(action), subject=None if subject is None else str(subject)[:200],
                           family_id=family_id, host=host, detail=dict(detail or {}), note=note)
        session.add(entry)
    return entry


def record_region(session: Session, *, actor_id: uuid.UUID | None, actor_role: str | None, action: str, subject,
                  host: str | None, detail: dict | None = None, note: str | None = None,
                  tenant_slug: str | None = None, now: datetime) -> RegionAuditEntry:
    """A change by an administrator that belongs to no one municipality (``tenant=None`` in
    :func:`record`): into the region's log in ``shared``, in the caller's transaction.
    ``tenant_slug``: the municipality it was about, if one. Changes only: the region's log
    records no reads."""
    entry = RegionAuditEntry(id=uuid.uuid4(), at=now, actor_id=actor_id, actor_role=actor_role, action=str(action),
                             subject=None if subject is None else str(subject)[:200], tenant_slug=tenant_slug,
                             host=host, detail=dict(detail or {}), note=note)
    session.add(entry)
    return entry


def record_read(session: Session, tenant, **fields) -> AuditEntry:
    return record(session, tenant, kind=Kind.READ, **fields)


def record_change(session: Session, tenant, **fields) -> AuditEntry:
    return record(session, tenant, kind=Kind.CHANGE, **fields)


# --- where the unit of work comes from --------------------------------------------------------

_ORIGIN_KEY = "audit_host"


def set_origin(session: Session, host: str | None) -> None:
    """The host this unit of work serves (set per web request by ``audit.init_app``), kept in
    ``session.info`` like the tenant binding, so the lifecycle's listener can say where a
    change came from without reading Flask's globals. Jobs and commands leave it unset."""
    session.info[_ORIGIN_KEY] = host


def origin(session: Session) -> str | None:
    return session.info.get(_ORIGIN_KEY)


# --- which family a request belongs to -------------------------------------------------------

# An application names its request (shared), not the family: ``care_requests`` owns that link
# and registers how to follow it, so this package never imports the requests built on it.
FamilyLookup = Callable[[Session, uuid.UUID], "uuid.UUID | None"]
_family_lookups: list[FamilyLookup] = []


def register_family_lookup(lookup: FamilyLookup) -> None:
    """Have ``lookup(session, request_id)`` answer the family id of a request. Registering
    twice is harmless."""
    if lookup not in _family_lookups:
        _family_lookups.append(lookup)


def family_of_request(session: Session, request_id: uuid.UUID | None) -> uuid.UUID | None:
    if request_id is None:
        return None
    for lookup in _family_lookups:
        found = lookup(session, request_id)
        if found is not None:
            return found
    return None
