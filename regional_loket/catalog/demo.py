"""Demo locations: per municipality 10–30 fictional locations on real streets, with a realistic
mix of types, capacities, hours, tariffs and free places. Deterministic per municipality, and
skipped for a municipality that already has locations (idempotent)."""

from __future__ import annotations

import math
import random
from datetime import date, time
from decimal import Decimal

from sqlalchemy import func, select

from .. import clock
from ..accounts import services as accounts
from ..accounts.demo import DOMAIN
from ..demo import register
from ..months import add_months, month_start
from ..tenancy import services as tenancy_services
from ..tenancy import tenant_scope
from ..vocabulary import Kind, age_groups_of_kind
from .models import Availability, Location, Organiser, Tariff

GROUP_NAMES = ["De Zonnebloem", "Het Kabouterhuis", "De Speelvogel", "Klein Duimpje", "De Rups", "Het Nestje",
               "De Regenboog", "Pim & Pom", "De Kleine Beer", "Hummeltjes", "De Boomhut", "Zonnestraal",
               "De Vlindertuin", "Het Egeltje", "Ukkepuk", "De Notelaar", "Madeliefje", "Het Mezennest"]
FIRST_NAMES = ["Els", "Sofie", "Nathalie", "Fatima", "Katrien", "Leen", "Veerle", "Anouk", "Ilse", "Hilde",
               "Marijke", "Samira", "Griet", "Annelies"]
LAST_NAMES = ["Janssens", "Peeters", "Maes", "Jacobs", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
              "Vermeulen", "El Amrani", "Vandenberghe", "Mertens", "Coppens"]
ORGANISERS = ["vzw Kinderopvang {m}", "Gemeentelijke kinderopvang {m}", "vzw Kindergarden", "Crèches Petits Pas bv",
              "vzw Het Speelhuis", "Kinderopvang Okapi vzw"]
DESCRIPTIONS = {
    Kind.GROUP: {"nl": "Een warme groepsopvang met aandacht voor buitenspelen en vaste begeleiders per leefgroep.",
                 "fr": "Un accueil en groupe chaleureux, avec beaucoup de jeux en plein air et des accueillantes fixes.",
                 "en": "A warm group setting with plenty of outdoor play and the same carers for each group."},
    Kind.FAMILY: {"nl": "Kleinschalige gezinsopvang bij een onthaalouder thuis, met hoogstens acht kinderen.",
                  "fr": "Un accueil familial à petite échelle chez une accueillante, avec huit enfants au maximum.",
                  "en": "Small-scale family care in a childminder's home, with at most eight children."},
    Kind.OUT_OF_SCHOOL: {"nl": "Voor- en naschoolse opvang en opvang op woensdagnamiddag en in de vakanties.",
                         "fr": "Accueil avant et après l'école, le mercredi après-midi et pendant les vacances.",
                         "en": "Care before and after school, on Wednesday afternoons and during the holidays."},
}


def _jitter(rng: random.Random, lat: float, lon: float, km: float = 1.2) -> tuple[float, float]:
    distance, angle = km * math.sqrt(rng.random()), rng.random() * 2 * math.pi
    return (round(lat + distance / 111.0 * math.sin(angle), 6),
            round(lon + distance / (111.0 * math.cos(math.radians(lat))) * math.cos(angle), 6))


def build_locations(slug: str, name: str, postcodes: list[dict], streets: dict, count: int, today: date) -> list[Location]:
    rng = random.Random(f"demo:{slug}")
    first = month_start(today)
    locations = []
    names = rng.sample(GROUP_NAMES, k=min(len(GROUP_NAMES), count))
    for index in range(count):
        kind = rng.choices([Kind.GROUP, Kind.FAMILY, Kind.OUT_OF_SCHOOL], weights=[5, 3, 2])[0]
        postcode = rng.choice(postcodes)
        lat, lon = _jitter(rng, postcode["lat"], postcode["lon"])
        street = rng.choice(streets.get((postcode["code"], postcode["name"])) or ["Kerkstraat"])
        if kind is Kind.FAMILY:
            label = f"Onthaalouder {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            places, ages, hours = rng.choice([4, 6, 8]), (0, 36), (time(7, rng.choice([0, 30])), time(18, 0))
        elif kind is Kind.GROUP:
            label = f"Kinderdagverblijf {names[index % len(names)]}"
            places, ages = rng.choice([14, 18, 21, 28, 35, 42, 56]), (0, 36)
            hours = (time(rng.choice([6, 7, 7]), rng.choice([0, 30])), time(18, rng.choice([0, 30])))
        else:
            label = f"IBO {names[index % len(names)]}"
            places, ages, hours = rng.choice([40, 60, 80, 100]), (30, 144), (time(7, 0), time(18, 30))
        income = kind is Kind.OUT_OF_SCHOOL or rng.random() < 0.6
        location = Location(
            name=label, organiser=rng.choice(ORGANISERS).format(m=name), kind=kind,
            street=street, number=str(rng.randint(1, 180)), postcode=postcode["code"], locality=postcode["name"],
            lat=lat, lon=lon, licensed_places=places, min_age_months=ages[0], max_age_months=ages[1],
            opening_days=[1, 2, 3, 4, 5], opens_at=hours[0], closes_at=hours[1],
            closures=[{"from": f"{today.year + 1}-07-20", "to": f"{today.year + 1}-08-07", "reason": "zomersluiting"}]
            if kind is not Kind.OUT_OF_SCHOOL else [],
            languages=["nl"] + (["fr"] if rng.random() < 0.3 else []) + (["en"] if rng.random() < 0.25 else [])
            + (["ar"] if rng.random() < 0.05 else []),
            tariff=Tariff.INCOME if income else Tariff.FREE,
            day_price=None if income else Decimal(rng.choice(["28.50", "31.00", "33.75", "36.00", "39.50", "42.00"])),
            special_care=rng.random() < 0.15,
            description=DESCRIPTIONS[kind],
            phone=f"+32 16 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            email=f"info@{label.split()[-1].lower().replace('&', '').replace(' ', '')}-{slug}.demo-loket.be",
            accepts_online=rng.random() < 0.9, active=rng.random() < 0.95,
        )
        groups = age_groups_of_kind(kind)
        for offset in range(18):
            for group in groups:
                free = max(0, rng.choice([0, 0, 0, 1, 1, 2, 3]) - (1 if offset < 3 else 0) + offset // 6)
                location.availability.append(
                    Availability(month=add_months(first, offset), age_group=group, free_places=min(free, places)))
        locations.append(location)
    return locations


@register("locations")
def load(session, definitions, echo) -> None:
    today = clock.today()
    created = 0
    for definition in definitions.municipalities:
        tenant = tenancy_services.get_tenant(session, definition.slug)
        if tenant is None:
            continue
        with tenant_scope(session, tenant):
            if session.scalar(select(func.count()).select_from(Location)):
                continue
            count = 30 if definition.slug == "leuven" else random.Random(definition.slug).randint(10, 20)
            locations = build_locations(definition.slug, definition.name, definition.postcodes,
                                        definition.streets, count, today)
            organisers: dict[str, Organiser] = {}
            for location in locations:  # the organisers as records, one per name
                location.organiser_record = organisers.setdefault(location.organiser,
                                                                  Organiser(name=location.organiser))
            session.add_all(locations)
            session.flush()
            created += len(locations)
            if definition.slug == "herent":  # the demo provider staff handles two locations
                staff = accounts.find_user(session, f"opvang.herent@{DOMAIN}")
                if staff is not None:
                    accounts.grant(session, staff, "provider_staff", tenant=tenant,
                                   location_ids=[loc.id for loc in locations[:2]])
    echo(f"  {created} demo locations with free places for 18 months")
