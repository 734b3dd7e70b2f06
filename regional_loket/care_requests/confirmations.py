"""Families confirm an open request every few months, so the waiting lists stay true.

When a request is due is ``queries``' one rule (``confirmation_timing``; the desk's worklist
reads the same expressions). This module acts on it, one request per call, each in the
caller's transaction (the job commits after each request, so a request is never half done):

- :func:`remind`: from ``queries.CONFIRMATION_SOON`` before the due date, once per due date
  (``CareRequest.reminded_for``; the outbox and call-list keys hold the due date too): a mail
  with a one-click confirm link, or — a family without any e-mail address — the desk's call
  list (``services.tell_family``).
- :func:`inactivate`: the grace period after the due date passed unanswered → the request is
  inactive, its waiting applications paused in every municipality (``applications.services.pause``:
  out of the ranked lists, a ``paused`` history event), and the family is told how to come back.
- :func:`confirm` (``services.confirm``): the family (its page, the link) or the desk (by phone)
  confirms → open again, paused applications resumed at their original submission time.

The link (token purpose ``confirm``) names the request, its family and the due date it was sent
for, and carries its issue time: it works once (``shared.used_tokens``), for that family only
(a signed-in user of another account is refused), until the request is confirmed some other way
(the due date moves on) or ``LINK_VALID`` has passed. Opening it only shows a page with one
button (a mail scanner's GET changes nothing); the POST confirms.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts import tokens
from ..applications import WAITING, ActorRole
from ..applications import services as applications
from ..families import Child, Family
from ..families import services as families
from ..tenancy import Tenant
from . import queries, services
from .models import CareRequest, RequestStatus

PURPOSE = "confirm"
LINK_VALID = tokens.MAX_AGE[PURPOSE]


class Outcome:
    """What one call did (the job counts them)."""

    REMINDED = "reminded"  # mailed
    CALL_LIST = "call-list"  # no e-mail address: on the desk's call list
    INACTIVATED = "inactivated"
    NOTHING = "nothing"  # not due (any more): confirmed meanwhile, reminded already, …
    GONE = "gone"  # erased (or never existed) between the scan and the act


# --- the link -----------------------------------------------------------------------------------


def make_token(secret: tokens.Secret, care: CareRequest, *, due_at: datetime, now: datetime) -> str:
    return tokens.make(secret, PURPOSE, r=str(care.id), f=str(care.family_id), d=due_at.isoformat(),
                       iat=now.isoformat())


def link_url(token: str) -> str:
    from ..web.urls import portal_url

    return portal_url(None, "requests.confirm_link", token=token)


# Why a link does nothing, in the words the page shows (translated when shown).
LINK_PROBLEMS = {
    "invalid": _l("Deze link is niet geldig. Kopieer de volledige link uit de e-mail, of bevestig uw aanvraag "
                  "op de pagina van uw aanvraag."),
    "expired": _l("Deze link is verlopen. Meld u aan en bevestig uw aanvraag op de pagina van uw aanvraag, of "
                  "bel het loket."),
    "used": _l("Deze link werd al gebruikt: uw aanvraag is bevestigd. U hoeft niets meer te doen."),
    "gone": _l("Deze aanvraag bestaat niet meer."),
    "other_account": _l("Deze link hoort bij een ander gezin dan het account waarmee u aangemeld bent. Er is "
                        "niets gewijzigd. Meld u af, of open de link in de browser van wie de e-mail kreeg."),
    "closed": _l("Deze aanvraag loopt niet meer (een plaats werd aanvaard of ze werd ingetrokken). Er is niets "
                 "gewijzigd."),
    "already": _l("Deze aanvraag werd intussen al bevestigd. Er is niets gewijzigd."),
}


class LinkError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return str(LINK_PROBLEMS[self.reason])


@dataclass
class Link:
    care: CareRequest
    family: Family
    child: Child | None
    payload: dict


def _current_due(session: Session, request_id: uuid.UUID) -> datetime | None:
    row = session.execute(select(queries.confirmation_due_at()).where(CareRequest.id == request_id)).first()
    return row[0] if row else None


def check_link(session: Session, secret: tokens.Secret, token: str, *, user, now: datetime) -> Link:
    """The request a confirm link is for, if it may still confirm it; else LinkError (its
    ``reason``, a key of LINK_PROBLEMS). Changes nothing. ``user``: the signed-in user or None."""
    try:
        payload = tokens.read(secret, PURPOSE, token)
    except tokens.TokenError as error:
        raise LinkError("expired" if error.reason == "expired" else "invalid") from None
    try:
        request_id, family_id = uuid.UUID(payload["r"]), uuid.UUID(payload["f"])
        issued, due = datetime.fromisoformat(payload["iat"]), datetime.fromisoformat(payload["d"])
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None
    if now - issued > LINK_VALID:  # the region's clock, not only the signature's
        raise LinkError("expired")
    if tokens.is_used(session, payload):
        raise LinkError("used")
    care = session.get(CareRequest, request_id)
    family = session.get(Family, family_id) if care is not None and care.family_id == family_id else None
    if family is None:
        raise LinkError("gone")
    if user is not None and getattr(user, "is_authenticated", False) and not families.may_act_for(user, family):
        raise LinkError("other_account")
    if care.status not in (RequestStatus.OPEN, RequestStatus.INACTIVE):
        raise LinkError("closed")
    if _current_due(session, care.id) != due:  # confirmed another way since: the period moved on
        raise LinkError("already")
    return Link(care, family, session.get(Child, care.child_id), payload)


def confirm_by_link(session: Session, secret: tokens.Secret, token: str, *, user, now: datetime) -> Link:
    """Confirm the request of a valid link and use the link up, in the caller's transaction."""
    link = check_link(session, secret, token, user=user, now=now)
    session.execute(select(CareRequest.id).where(CareRequest.id == link.care.id).with_for_update())
    try:
        tokens.consume(session, PURPOSE, link.payload)
    except tokens.TokenError:
        raise LinkError("used") from None
    actor_id = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    services.confirm(session, link.care, actor_id=actor_id, actor_role=ActorRole.FAMILY, now=now)
    return link


def next_due(session: Session, care: CareRequest) -> datetime | None:
    """When the request's next confirmation is due (after a confirmation: the page says it)."""
    return _current_due(session, care.id)


# --- the job's two acts -------------------------------------------------------------------------


def _locked(session: Session, request_id: uuid.UUID) -> tuple[CareRequest | None, queries.Timing | None]:
    """The request (locked: the family may be confirming right now) and its timing (None when
    it is no longer open), or (None, None) when it is gone."""
    care = session.scalar(select(CareRequest).where(CareRequest.id == request_id).with_for_update())
    if care is None:
        return None, None
    return care, queries.timing(session, request_id)


def _tell(session: Session, care: CareRequest, timing: queries.Timing, template: str, key: str, *,
          secret: tokens.Secret, now: datetime, inactive_from: datetime) -> str:
    family = session.get(Family, care.family_id)
    child = session.get(Child, care.child_id)
    tenant = session.get(Tenant, timing.tenant_id) if timing.tenant_id else None
    # A late reminder (the job was down) asks for "today", never for a day already past.
    data = {"child": child.first_name if child else "", "due": max(timing.due_at, now).date().isoformat(),
            "inactive": inactive_from.date().isoformat(), "page": services.request_url(care.id)}
    mailed = services.will_be_mailed(family)
    if mailed:  # a link only for whom it is mailed; the call list gets none
        data["url"] = link_url(make_token(secret, care, due_at=timing.due_at, now=now))
    services.tell_family(session, family, template, key, tenant=tenant, actor_role=ActorRole.SYSTEM, **data)
    return Outcome.REMINDED if mailed else Outcome.CALL_LIST


def remind(session: Session, request_id: uuid.UUID, *, secret: tokens.Secret, now: datetime) -> str:
    """Remind the family of a request whose confirmation is due soon (or missed), once per
    due period; the reminder names the day it goes inactive."""
    care, timing = _locked(session, request_id)
    if care is None:
        return Outcome.GONE
    if timing is None or now < timing.remind_from or timing.reminded:
        return Outcome.NOTHING
    care.reminded_at = now
    return _tell(session, care, timing, "confirmation_reminder",
                 f"confirm-reminder:{care.id}:{timing.due_at.date().isoformat()}", secret=secret, now=now,
                 inactive_from=timing.inactive_from(now))


def inactivate(session: Session, request_id: uuid.UUID, *, secret: tokens.Secret, now: datetime) -> str:
    """Reminded, and the grace period passed unanswered: the request goes inactive, its waiting
    applications are paused in every municipality, and the family is told how to come back."""
    care, timing = _locked(session, request_id)
    if care is None:
        return Outcome.GONE
    inactive_from = timing.inactive_from() if timing is not None else None
    if inactive_from is None or now < inactive_from:
        return Outcome.NOTHING
    care.status, care.inactive_at = RequestStatus.INACTIVE, now
    loaded = services.load_applications(session, care.choices)
    for one in loaded.values():
        if one.application.status in WAITING:
            applications.pause(session, one.tenant, one.application, now=now)
    _tell(session, care, timing, "request_inactive", f"inactive:{care.id}:{timing.due_at.date().isoformat()}",
          secret=secret, now=now, inactive_from=inactive_from)
    return Outcome.INACTIVATED


def step(session: Session, request_id: uuid.UUID, *, secret: tokens.Secret, now: datetime) -> str:
    """Whatever the rule asks of this request now: the reminder, or going inactive."""
    care, timing = _locked(session, request_id)
    if care is None:
        return Outcome.GONE
    if timing is not None and timing.reminded:
        return inactivate(session, request_id, secret=secret, now=now)
    return remind(session, request_id, secret=secret, now=now)


def due_work(session: Session, *, now: datetime) -> list[uuid.UUID]:
    """The open requests the job must act on now: one statement over the region."""
    return list(session.scalars(queries.confirmation_timing(now=now).with_only_columns(CareRequest.id)))
