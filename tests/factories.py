"""Factories: a tenant, a location, a user, a family, a child, a request or an offer — and
everything it needs — in one call, with sensible defaults and keyword overrides.

They go through the real services (``families.services``, ``requests.services``,
``applications.services``), so what they build obeys the same rules as what a family or a provider
builds; only locations are inserted as rows (their services are the provider's profile form).
Each takes the ORM session explicitly and flushes, never commits: in tests the ``app`` fixture
rolls everything back; ``bench/`` commits itself. No pytest here, so ``bench/`` can import
``tests.factories`` too.

    user, family = make_family(db.session)
    child = make_child(db.session, family)
    care = make_request(db.session, family, child, locations=[location])   # submitted
    tenant, application = make_offer(db.session, care.choices[0])
"""

from __future__ import annotations

import itertools
import os
import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from regional_loket import clock
from regional_loket.accounts import services as accounts
from regional_loket.applications import services as applications
from regional_loket.care_requests import services as requests
from regional_loket.catalog.models import Availability, Location
from regional_loket.database import utcnow
from regional_loket.families import services as families
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services as tenancy
from regional_loket.tenancy import tenant_scope

PASSWORD = "een lange zin als wachtwoord"
PEPPER = "pepper"
TODAY = clock.today()  # the region's day, as the app's (not the machine's UTC day)
START = add_months(month_start(TODAY), 3)  # a child of ~9 months at the start: the "baby" group
BORN = add_months(month_start(TODAY), -6).replace(day=10)
PLAN = {"1": "full", "2": "full", "3": "half", "4": "none", "5": "full"}

_counter = itertools.count(1)


def _unique() -> str:
    return uuid.uuid4().hex[:10]


def make_tenant(session: Session, slug: str | None = None, **fields) -> Any:
    """A municipality (row and schema)."""
    n = next(_counter)
    slug = slug or f"gem{n}{uuid.uuid4().hex[:6]}"
    tenant = tenancy.create_tenant(
        session, slug=slug, name=fields.pop("name", slug.title()),
        nis_code=fields.pop("nis_code", f"{90000 + (n * 7919 + os.getpid()) % 10000:05d}"), **fields)
    session.flush()
    return tenant


def make_location(session: Session, tenant, name: str = "Kinderdagverblijf Test", *,
                  free: dict[tuple[date, str], int] | None = None, **fields) -> Location:
    """A location of ``tenant`` (mirrored into the catalog at flush), open to online requests for
    0–36 months. ``free={(month, "baby"): 2}`` adds free places."""
    values = dict(
        name=name, organiser="vzw Test", kind="group", street="Kerkstraat", number="1",
        postcode="3020", locality="Herent", lat=50.9085, lon=4.6715, licensed_places=18,
        min_age_months=0, max_age_months=36, opening_days=[1, 2, 3, 4, 5], opens_at=time(7, 0),
        closes_at=time(18, 0), closures=[], languages=["nl"], tariff="income", day_price=None,
        special_care=False, description={"nl": "Een test."}, accepts_online=True, active=True,
    )
    values.update(fields)
    with tenant_scope(session, tenant):
        location = Location(**values)
        for (month, group), places in (free or {}).items():
            location.availability.append(Availability(month=month, age_group=group, free_places=places))
        session.add(location)
    return location  # tenant_scope flushed it on the way out


def make_user(session: Session, *roles, email: str | None = None, password: str = PASSWORD,
              name: str = "Test Gebruiker", language: str = "nl", verified: bool = True, tenant=None,
              locations=(), organisation: str | None = None):
    """A user with roles, e.g. ``make_user(s, "coordinator", tenant=herent)`` or
    ``make_user(s, "provider_staff", tenant=herent, locations=[location.id])``."""
    email = email or f"user-{_unique()}@example.be"
    user, created = accounts.register(session, email=email, password=password, name=name, language=language)
    if not created:
        raise ValueError(f"{email} is taken")
    if verified:
        user.verified_at = utcnow()
    for role in roles:
        if role == "parent":
            continue
        accounts.grant(session, user, role, tenant=tenant if role in ("coordinator", "provider_staff") else None,
                       location_ids=locations, organisation=organisation)
    session.flush()
    return user


def make_family(session: Session, *, user=None, email: str | None = None, name: str = "An Peeters",
                language: str = "nl", address: bool = True, street: str = "Kerkstraat", number: str = "1",
                postcode: str = "3020", locality: str = "Herent", phone: str | None = None,
                needs_care_for_work: bool = True, single_parent: bool = False, low_income: bool = False):
    """``(user, family)``: a verified parent (made unless ``user`` is given) and the family it is
    the first guardian of, with an address and declarations (``address=False``: none yet, as
    before the wizard's family step)."""
    user = user or make_user(session, "parent", email=email, name=name, language=language)
    family = families.ensure_family(session, user, language=language)
    if address:
        families.update_details(session, family, street=street, number=number, postcode=postcode,
                                locality=locality, phone=phone, needs_care_for_work=needs_care_for_work,
                                single_parent=single_parent, low_income=low_income)
        session.flush()
    return user, family


def make_child(session: Session, family, *, first_name: str = "Lien", last_name: str = "Peeters",
               birth_date: date | None = BORN, due_date: date | None = None, national_number: str | None = None,
               pepper: str = PEPPER, today: date = TODAY, **fields):
    """A child of ``family`` (born ``BORN``: a baby at ``START``)."""
    return families.add_child(session, family, first_name=first_name, last_name=last_name, birth_date=birth_date,
                              due_date=due_date, national_number=national_number, pepper=pepper, today=today,
                              **fields)


def make_request(session: Session, family, child, *, locations=(), submit: bool = True,
                 start_date: date = START, flexibility_weeks: int = 2, care_plan: dict | None = None,
                 keep_higher_choices: bool = False, actor_id: uuid.UUID | None = None,
                 now: datetime | None = None, today: date = TODAY):
    """A request for ``child`` with one choice per location (``Location`` objects or ids, in
    rank order), submitted unless ``submit=False`` (then a draft): one application per choice
    in its location's municipality."""
    care = requests.draft(session, family, child, actor_id=actor_id)
    requests.set_plan(care, child, start_date=start_date, flexibility_weeks=flexibility_weeks,
                      care_plan=dict(PLAN if care_plan is None else care_plan),
                      keep_higher_choices=keep_higher_choices, today=today)
    for location in locations:
        requests.add_choice(session, care, child, getattr(location, "id", location))
    if submit:
        requests.submit(session, care, family, child, actor_id=actor_id, now=now or utcnow(), today=today)
    session.flush()
    return care


def application_of(session: Session, choice):
    """``(tenant, application)`` behind a submitted choice, its history loaded."""
    loaded = requests.load_application(session, choice)
    return loaded.tenant, loaded.application


def make_offer(session: Session, choice, *, deadline: date | None = None, month: date | None = None,
               actor_id: uuid.UUID | None = None, now: datetime | None = None, today: date = TODAY):
    """The provider offers the place of a submitted choice (holding a free place: the location
    needs one for the month and age group). Returns ``(tenant, application)``."""
    tenant, application = application_of(session, choice)
    applications.offer(session, tenant, application, month=month, deadline=deadline, actor_id=actor_id,
                   now=now or utcnow(), today=today)
    session.flush()
    return tenant, application
