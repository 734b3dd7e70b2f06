"""What a municipal desk reads about the requests of the families living in its municipality
(all in ``shared``: a request's choices mirror their applications' statuses, so a question
about every municipality of the region is one statement, never a walk over the schemas).

"Living here": the family's home postcode is one of the municipality's
(``tenancy.services.postcodes_of``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, String, Uuid, exists, func, literal, select, tuple_, union
from sqlalchemy.orm import aliased

from ..applications import Status
from ..families import Child, Family, Guardian
from ..listing import order
from ..months import same_day_months_later
from ..tenancy import Postcode, Tenant, TenantSettings
from ..tenancy.services import postcodes_of
from .models import CareRequest, Choice, RequestStatus

ANSWERED = (Status.OFFERED, Status.ACCEPTED)  # a choice in one of these: the family has an offer
# "Due" on the desk's list: within this of its date; the family's reminder is sent from then on.
CONFIRMATION_SOON = timedelta(days=14)


def _contact_columns():
    """Whom the desk calls: the first guardian's name and address, the family's phone."""
    def first_guardian(column):
        return (select(column).where(Guardian.family_id == Family.id).order_by(Guardian.created_at, Guardian.id)
                .limit(1).correlate(Family).scalar_subquery())

    return (first_guardian(Guardian.name).label("guardian_name"),
            first_guardian(Guardian.email).label("guardian_email"), Family.phone.label("phone"))


def _inline(value):
    """A value written into the statement's text, not sent as a parameter. psycopg prepares a
    statement after a few runs and PostgreSQL then plans it once for any parameters: with the
    statuses as parameters that generic plan cannot use ``ix_requests_family_id_open`` (partial:
    open or inactive requests), with the municipality as one it assumes an average
    municipality's few hundred choices and loops over the largest's ten thousand."""
    if isinstance(value, uuid.UUID):
        return literal(value, Uuid, literal_execute=True)
    return literal(str(value), String, literal_execute=True)


def _lives_in(tenant_id: uuid.UUID):
    return Family.postcode.in_(postcodes_of(tenant_id))


def _municipalities():
    """The names of the municipalities of the request's choices, in one array."""
    return (select(func.array_agg(Tenant.name.distinct()))
            .join(Choice, Choice.tenant_id == Tenant.id).where(Choice.request_id == CareRequest.id)
            .correlate(CareRequest).scalar_subquery().label("municipalities"))


# The "no offer yet" worklist's sort keys (``listing.order``): the nearest start first.
WITHOUT_OFFER_SORTS = {
    "start": (CareRequest.start_date, CareRequest.id),
    "submitted": (CareRequest.submitted_at, CareRequest.id),
    "child": (Child.first_name, CareRequest.id),
}


def without_offer(*, tenant_id: uuid.UUID, today: date, months_before_start: int,
                  choice_tenant_id: uuid.UUID | None = None, sort: str = "start", descending: bool = False):
    """The statement of the open requests of families living in the municipality whose wanted
    start is at most ``months_before_start`` months away (or already past) and none of whose
    choices, in any municipality, is offered or accepted: the desk calls them. With
    ``choice_tenant_id``: only requests with a choice there. Rows of (id, start_date,
    submitted_at, child_first_name, guardian_name, guardian_email, phone, municipalities)."""
    answered = exists().where(Choice.request_id == CareRequest.id, Choice.status.in_(ANSWERED))
    statement = (
        select(CareRequest.id, CareRequest.start_date, CareRequest.submitted_at,
               Child.first_name.label("child_first_name"), *_contact_columns(), _municipalities())
        .join(Family, Family.id == CareRequest.family_id).join(Child, Child.id == CareRequest.child_id)
        .where(CareRequest.status == _inline(RequestStatus.OPEN), _lives_in(tenant_id), ~answered,
               CareRequest.start_date <= same_day_months_later(today, months_before_start)))
    if choice_tenant_id is not None:
        statement = statement.where(
            exists().where(Choice.request_id == CareRequest.id, Choice.tenant_id == choice_tenant_id))
    return statement.order_by(*order(WITHOUT_OFFER_SORTS.get(sort, WITHOUT_OFFER_SORTS["start"]),
                                     descending=descending))


# --- confirmations: ONE rule for when a request is due, read by the desk's worklist and the job ----
#
# Which municipality's rules time a request (it may have choices in several): the one the family
# lives in (its home postcode) — the desk that lists it on its "to confirm" worklist — else, for
# a family from outside the region, the municipality of the request's first choice (stable while
# choices close, and one desk is clearly in charge). From that municipality: the interval
# (``confirm_interval_months``) and the grace period (``confirm_grace_days``).
#
# - due: the last confirmation (or the submission) plus the interval;
# - reminded: once per due period, from CONFIRMATION_SOON before the due date (the worklist's
#   "due" state) — reminded for this period when ``reminded_at`` ≥ due date − CONFIRMATION_SOON
#   (an interval is at least a month, so last period's reminder never counts);
# - inactive: reminded, and the grace period has passed since the due date — or since the
#   reminder when it went out late (the job was down, the desk shortened the interval): a
#   family always has the whole grace period after its reminder.


def confirming_tenant_id():
    """The id of the municipality whose rules time the request (see above), as a scalar
    subquery correlated to ``CareRequest``."""
    family, choice = aliased(Family), aliased(Choice)
    home = (select(Postcode.tenant_id).join(family, family.postcode == Postcode.code)
            .where(family.id == CareRequest.family_id).order_by(Postcode.tenant_id).limit(1)
            .correlate(CareRequest).scalar_subquery())
    first_choice = (select(choice.tenant_id).where(choice.request_id == CareRequest.id)
                    .order_by(choice.rank, choice.id).limit(1).correlate(CareRequest).scalar_subquery())
    return func.coalesce(home, first_choice)


def _setting(key: str, tenant_id: uuid.UUID | None = None):
    """That municipality's setting ``key`` (its default when the municipality left it out).
    With ``tenant_id``: that municipality's, for a statement that keeps only the requests it
    times (read once, not once per request)."""
    timing_tenant = confirming_tenant_id() if tenant_id is None else tenant_id
    value = (select(Tenant.settings_data[key].astext.cast(Integer)).where(Tenant.id == timing_tenant)
             .correlate(CareRequest).scalar_subquery())
    return func.coalesce(value, getattr(TenantSettings(), key))


def confirmation_due_at(tenant_id: uuid.UUID | None = None):
    """When a request's next confirmation is due: its last one (or its submission) plus the
    interval of the municipality that times it (PostgreSQL's month arithmetic: 31 January +
    1 month = 28/29 February). ``tenant_id``: the requests are known to be timed by it."""
    return (func.coalesce(CareRequest.confirmed_at, CareRequest.submitted_at)
            + func.make_interval(0, _setting("confirm_interval_months", tenant_id)))


def _timed_by(tenant_id: uuid.UUID, statuses: tuple[str, ...]):
    """The ids of the requests in ``statuses`` that ``tenant_id`` times — exactly those whose
    ``confirming_tenant_id()`` is ``tenant_id`` — found as sets (two index-driven joins) instead
    of the correlated rule once per request, which cost a desk's home ~50 ms for a large
    municipality's thousands of families:

    - families whose postcode is one of this municipality's, unless a municipality with a
      smaller id has the same code (the rule takes the smallest);
    - families whose postcode is no municipality's (outside the region, or none) whose request's
      first choice (by rank, then id) is here."""
    family, care, choice, earlier = aliased(Family), aliased(CareRequest), aliased(Choice), aliased(Choice)
    own, other, anywhere = aliased(Postcode), aliased(Postcode), aliased(Postcode)
    tenant_id, statuses = _inline(tenant_id), [_inline(status) for status in statuses]
    timed_codes = select(own.code).where(
        own.tenant_id == tenant_id, ~exists().where(other.code == own.code, other.tenant_id < own.tenant_id))
    # The requests with a choice here first (OFFSET 0: planned on its own, never flattened):
    # the planner underestimates the families from outside the region (5 % at bench/mixed.py,
    # guessed 0.2 %) and otherwise starts from them, scanning the region's families for every
    # desk, however small its municipality.
    chosen_here = (select(choice.request_id, choice.rank, choice.id, care.family_id)
                   .join(care, care.id == choice.request_id)
                   .where(care.status.in_(statuses), choice.tenant_id == tenant_id).offset(0).subquery())
    return union(
        select(care.id).join(family, family.id == care.family_id)
        .where(care.status.in_(statuses), family.postcode.in_(timed_codes)),
        select(chosen_here.c.request_id).join(family, family.id == chosen_here.c.family_id)
        .where(~exists().where(anywhere.code == family.postcode),
               ~exists().where(earlier.request_id == chosen_here.c.request_id,
                               tuple_(earlier.rank, earlier.id) < tuple_(chosen_here.c.rank, chosen_here.c.id))))


def confirmation_timing(*, request_id: uuid.UUID | None = None, now: datetime | None = None):
    """The statement of open requests with their confirmation timing: rows of (id, due_at,
    grace_days, reminded_at, tenant_id) — :func:`timing` reads one. ``request_id``: that request
    only. ``now``: only those the job must act on (a reminder due and not sent this period, or
    reminded and the grace period over), one statement over the region."""
    due_at, grace_days = confirmation_due_at(), _setting("confirm_grace_days")
    statement = select(CareRequest.id, due_at.label("due_at"), grace_days.label("grace_days"),
                       CareRequest.reminded_at, confirming_tenant_id().label("tenant_id")).where(
        CareRequest.status == RequestStatus.OPEN)
    if request_id is not None:
        statement = statement.where(CareRequest.id == request_id)
    if now is not None:
        reminded = CareRequest.reminded_at >= due_at - CONFIRMATION_SOON
        inactive_at = func.greatest(due_at, CareRequest.reminded_at) + func.make_interval(0, 0, 0, grace_days)
        statement = statement.where(
            (~func.coalesce(reminded, False) & (due_at - CONFIRMATION_SOON <= now))
            | (func.coalesce(reminded, False) & (inactive_at <= now)))
    return statement.order_by(CareRequest.submitted_at, CareRequest.id)


@dataclass(frozen=True)
class Timing:
    """One request's confirmation timing (the rule above, in Python for one row)."""

    request_id: uuid.UUID
    due_at: datetime
    grace_days: int
    reminded_at: datetime | None
    tenant_id: uuid.UUID | None

    @property
    def remind_from(self) -> datetime:
        return self.due_at - CONFIRMATION_SOON

    @property
    def reminded(self) -> bool:
        return self.reminded_at is not None and self.reminded_at >= self.remind_from

    def inactive_from(self, reminded_at: datetime | None = None) -> datetime | None:
        """When it goes inactive (None: not reminded for this period yet); ``reminded_at``: as
        if reminded then (the reminder says the date)."""
        reminded_at = reminded_at or (self.reminded_at if self.reminded else None)
        if reminded_at is None:
            return None
        return max(self.due_at, reminded_at) + timedelta(days=self.grace_days)


def timing(session, request_id: uuid.UUID) -> Timing | None:
    """The timing of one open request (None when it is not open or not there)."""
    row = session.execute(confirmation_timing(request_id=request_id)).first()
    return Timing(*row) if row is not None else None


# The confirmation worklist's sort keys (``listing.order``): the earliest due date first.
CONFIRMATION_SORTS = ("due", "start", "child")


class ConfirmationState:
    DUE = "due"  # due within CONFIRMATION_SOON
    MISSED = "missed"  # its date has passed (or the request went inactive for it)


def confirmation_due(*, tenant_id: uuid.UUID, now: datetime, state: str | None = None,
                     sort: str = "due", descending: bool = False):
    """The statement of the open (or inactive: not confirmed in time) requests this municipality
    times (``confirming_tenant_id``: families living here, and families from outside the region
    whose first choice is here) whose periodic confirmation is due within CONFIRMATION_SOON or
    missed, the earliest first. ``state`` narrows to ConfirmationState.DUE or .MISSED. Rows of
    (id, due_at, missed, status, confirmed_at, start_date, child_first_name, guardian_name,
    guardian_email, phone)."""
    due_at = confirmation_due_at(tenant_id)
    missed = (due_at < now) | (CareRequest.status == RequestStatus.INACTIVE)
    statement = (
        select(CareRequest.id, due_at.label("due_at"), missed.label("missed"), CareRequest.status,
               CareRequest.confirmed_at, CareRequest.start_date, Child.first_name.label("child_first_name"),
               *_contact_columns())
        .join(Family, Family.id == CareRequest.family_id).join(Child, Child.id == CareRequest.child_id)
        .where(CareRequest.status.in_((RequestStatus.OPEN, RequestStatus.INACTIVE)),
               # The one rule (confirming_tenant_id), as sets: this municipality's requests only.
               CareRequest.id.in_(_timed_by(tenant_id, (RequestStatus.OPEN, RequestStatus.INACTIVE))),
               missed | (due_at < now + CONFIRMATION_SOON)))
    if state == ConfirmationState.MISSED:
        statement = statement.where(missed)
    elif state == ConfirmationState.DUE:
        statement = statement.where(~missed)
    sorts = {"due": (due_at, CareRequest.id), "start": (CareRequest.start_date, CareRequest.id),
             "child": (Child.first_name, CareRequest.id)}
    return statement.order_by(*order(sorts.get(sort, sorts["due"]), descending=descending))
