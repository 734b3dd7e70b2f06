"""What a municipal desk reads about the requests of the families living in its municipality
(all in ``shared``: a request's choices mirror their applications' statuses, so a question
about every municipality of the region is one statement, never a walk over the schemas).

"Living here": the family's home postcode is one of the municipality's
(``tenancy.services.postcodes_of``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select

from ..applications import Status
from ..families import Child, Family, Guardian
from ..listing import order
from ..months import same_day_months_later
from ..tenancy import Tenant
from ..tenancy.services import postcodes_of
from .models import CareRequest, Choice, RequestStatus

ANSWERED = (Status.OFFERED, Status.ACCEPTED)  # a choice in one of these: the family has an offer
CONFIRMATION_SOON = timedelta(days=14)  # "due" on the desk's list: within this of its date


def _contact_columns():
    """Whom the desk calls: the first guardian's name and address, the family's phone."""
    def first_guardian(column):
        return (select(column).where(Guardian.family_id == Family.id).order_by(Guardian.created_at, Guardian.id)
                .limit(1).correlate(Family).scalar_subquery())

    return (first_guardian(Guardian.name).label("guardian_name"),
            first_guardian(Guardian.email).label("guardian_email"), Family.phone.label("phone"))


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
        .where(CareRequest.status == RequestStatus.OPEN, _lives_in(tenant_id), ~answered,
               CareRequest.start_date <= same_day_months_later(today, months_before_start)))
    if choice_tenant_id is not None:
        statement = statement.where(
            exists().where(Choice.request_id == CareRequest.id, Choice.tenant_id == choice_tenant_id))
    return statement.order_by(*order(WITHOUT_OFFER_SORTS.get(sort, WITHOUT_OFFER_SORTS["start"]),
                                     descending=descending))


def confirmation_due_at(interval_months: int):
    """When a request's next confirmation is due: its last one (or its submission) plus the
    municipality's interval (PostgreSQL's month arithmetic: 31 January + 1 month = 28/29 February)."""
    return (func.coalesce(CareRequest.confirmed_at, CareRequest.submitted_at)
            + func.make_interval(0, interval_months))


# The confirmation worklist's sort keys (``listing.order``): the earliest due date first.
CONFIRMATION_SORTS = ("due", "start", "child")


class ConfirmationState:
    DUE = "due"  # due within CONFIRMATION_SOON
    MISSED = "missed"  # its date has passed (or the request went inactive for it)


def confirmation_due(*, tenant_id: uuid.UUID, now: datetime, interval_months: int, state: str | None = None,
                     sort: str = "due", descending: bool = False):
    """The statement of the open (or inactive: not confirmed in time) requests of families living
    in the municipality whose periodic confirmation is due within CONFIRMATION_SOON or missed,
    the earliest first. ``state`` narrows to ConfirmationState.DUE or .MISSED. Rows of (id,
    due_at, missed, status, confirmed_at, start_date, child_first_name, guardian_name,
    guardian_email, phone)."""
    due_at = confirmation_due_at(interval_months)
    missed = (due_at < now) | (CareRequest.status == RequestStatus.INACTIVE)
    statement = (
        select(CareRequest.id, due_at.label("due_at"), missed.label("missed"), CareRequest.status,
               CareRequest.confirmed_at, CareRequest.start_date, Child.first_name.label("child_first_name"),
               *_contact_columns())
        .join(Family, Family.id == CareRequest.family_id).join(Child, Child.id == CareRequest.child_id)
        .where(CareRequest.status.in_((RequestStatus.OPEN, RequestStatus.INACTIVE)), _lives_in(tenant_id),
               missed | (due_at < now + CONFIRMATION_SOON)))
    if state == ConfirmationState.MISSED:
        statement = statement.where(missed)
    elif state == ConfirmationState.DUE:
        statement = statement.where(~missed)
    sorts = {"due": (due_at, CareRequest.id), "start": (CareRequest.start_date, CareRequest.id),
             "child": (Child.first_name, CareRequest.id)}
    return statement.order_by(*order(sorts.get(sort, sorts["due"]), descending=descending))
