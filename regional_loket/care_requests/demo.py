"""Demo families and requests: the demo parent follows a request in two municipalities with
an offer waiting, and the Herent demo staff member finds a lived-in, ranked waiting list."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.demo import DEMO_PASSWORD, DOMAIN
from ..catalog import CatalogLocation
from ..database import utcnow
from ..demo import register
from ..families import Family, Guardian
from ..families import services as families
from ..months import add_months, month_start, months_between
from ..tenancy import services as tenancy_services
from ..vocabulary import Kind
from . import services
from .models import CareRequest

FIRST = ["Noah", "Olivia", "Louis", "Emma", "Arthur", "Mila", "Jules", "Lina", "Adam", "Nora", "Victor", "Elena",
         "Finn", "Yara", "Mats", "Amira"]
LAST = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "El Idrissi",
        "Dubois", "Lambrechts", "Vermeulen", "Van Damme", "Aerts", "Hermans"]


def _choosable(session, slug: str, birth: date, start: date, count: int) -> list:
    tenant = tenancy_services.get_tenant(session, slug)
    if tenant is None:
        return []
    months = months_between(birth, start)
    return list(session.scalars(
        select(CatalogLocation.location_id).where(
            CatalogLocation.tenant_id == tenant.id, CatalogLocation.active.is_(True),
            CatalogLocation.accepts_online.is_(True), CatalogLocation.kind != Kind.OUT_OF_SCHOOL,
            CatalogLocation.min_age_months <= months, CatalogLocation.max_age_months >= months)
        # Income-related tariffs first: their lists show the region's priority rules at work.
        .order_by(CatalogLocation.tariff != "income", CatalogLocation.name).limit(count)))


def _family_with_request(session, user, *, child_name, birth, start, picks, declarations, today):
    family = families.ensure_family(session, user, language=user.language)
    families.update_details(session, family, street="Kerkstraat", number=str(random.Random(user.email).randint(1, 90)),
                            postcode="3020", locality="Herent", phone="+32 470 00 00 00", **declarations)
    families.record_consent(family, "share_with_chosen_locations", user_id=user.id, now=utcnow())
    first, last = child_name
    child = families.add_child(session, family, first_name=first, last_name=last, birth_date=birth, due_date=None,
                               national_number=None, pepper="demo", today=today)
    care = services.draft(session, family, child, actor_id=user.id)
    services.set_plan(care, child, start_date=start, flexibility_weeks=2,
                      care_plan={"1": "full", "2": "full", "3": "half", "4": "full", "5": "none"},
                      keep_higher_choices=False, today=today)
    for location_id in picks:
        services.add_choice(session, care, child, location_id)
    services.submit(session, care, family, child, actor_id=user.id, now=utcnow(), today=today)
    return family, care


@register("requests")
def load(session, definitions, echo) -> None:
    from ..applications import LifecycleError
    from ..applications import services as applications

    parent = accounts.find_user(session, f"ouder@{DOMAIN}")
    if parent is None or session.scalar(select(CareRequest.id).join(Family, Family.id == CareRequest.family_id)
                                        .join(Guardian).where(Guardian.user_id == parent.id).limit(1)):
        return
    today = date.today()
    start = add_months(month_start(today), 3)
    birth = add_months(month_start(today), -5).replace(day=12)
    herent = _choosable(session, "herent", birth, start, 2)
    leuven = _choosable(session, "leuven", birth, start, 1)
    if not herent:
        return
    _, care = _family_with_request(session, parent, child_name=("Lien", "Peeters"), birth=birth, start=start,
                                   picks=herent + leuven, today=today,
                                   declarations={"needs_care_for_work": True, "single_parent": False,
                                                 "low_income": False})
    # A waiting list for the demo staff member's first location: 12 families, mixed priority.
    rng = random.Random("demo-families")
    for n in range(12):
        user, _ = accounts.register(session, email=f"gezin{n + 1}@{DOMAIN}", password=DEMO_PASSWORD,
                                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                    language=rng.choice(["nl", "nl", "nl", "fr"]))
        user.verified_at = utcnow()
        child_birth = birth - timedelta(days=rng.randint(-60, 120))
        _family_with_request(session, user, child_name=(rng.choice(FIRST), user.name.split()[-1]), birth=child_birth,
                             start=start, picks=herent[:1], today=today, declarations={
                                 "needs_care_for_work": rng.random() < 0.7, "single_parent": rng.random() < 0.2,
                                 "low_income": rng.random() < 0.2})
    # One offer waits for the demo parent's answer, from the first choice with a free place.
    for choice in reversed(care.choices):
        loaded = services.load_application(session, choice)
        try:
            applications.offer(session, loaded.tenant, loaded.application, deadline=today + timedelta(days=7),
                               actor_id=None, now=utcnow(), today=today)
            break
        except LifecycleError:
            continue  # no free place that month here
    echo(f"  demo requests: ouder@{DOMAIN} (3 choices, one offer) and 12 families waiting in Herent")
