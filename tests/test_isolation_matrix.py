"""The isolation matrix (issue #18, item 1): every route of the URL map — found, not listed by
hand — called with each method it takes, as every role of municipality A (Herent), against
the objects of municipality B (Leuven) and, for provider staff, of another location in A.

What must hold:
- a route whose arguments name a foreign object answers 404 or 403 (or sends an anonymous
  visitor to the login page; 400/405/410 are refusals too), unless the route is deliberately
  cross-tenant (DELIBERATE: region administrators work across municipalities; the public
  catalog shows every municipality's locations);
- no answer of any route, whatever its status, carries a foreign person's data (the markers
  below) — nor, on a back-office page, another municipality's location;
- never a 5xx.

A route with an argument the matrix does not know fails the test (`test_every_route_is_classified`):
a new route gets its foreign objects here before it can land.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from werkzeug.routing import Rule

from regional_loket.accounts import invitations
from regional_loket.applications import ActorRole
from regional_loket.care_requests import services as requests
from regional_loket.catalog.services import create_organiser
from regional_loket.coordinator.call_list import record_news
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.families import Family, Guardian
from regional_loket.families import services as families
from regional_loket.tenancy import Hosts, tenant_scope
from regional_loket.tenancy.hosts import rule_for

from . import factories as f
from .conftest import hand_over, host_url, login

ROLES = ("anonymous", "parent", "referrer", "staff", "coordinator", "admin")

# What only municipality B's people wrote: none of it may show on any answer to A's roles.
FOREIGN_PERSONAL = ("Zebedeus", "Foreignparent", "foreign-parent@leuvenmatrix.be", "Desknaam Leuvenaar",
                    "+32 16 99 88 77")
# B's offer: public on the catalog, but never on A's back-office pages.
FOREIGN_OFFER = ("Geheime Leuvense Crèche", "vzw Leuvense Geheimen")
# A family of A that chose only the other location of A: foreign to LA1's staff.
OTHER_LOCATION_PERSONAL = ("Wolfgangina", "Andereplek")

# Arguments that name no object: one harmless value each.
PLAIN_ARGUMENTS = {"token": "bogus-token", "fmt": "csv", "slug": "te-laat", "act": "aanvaarden",
                   "code": "nl", "name": "utrecht/components.css", "key": "aanvragen"}

# The region's own objects (a provisioning run, a failed job, a yearly figure, a policy version):
# only administrators reach them, whatever the id; every other role must be refused.
REGION_OBJECTS = {"provisioning_id": uuid.UUID(int=1), "job_id": "bogus-job", "row_id": uuid.UUID(int=2),
                  "policy_id": uuid.UUID(int=3)}

# (role or "*", endpoint prefix) → why the route may show a foreign object.
DELIBERATE = {
    ("admin", "admin."): "region administrators work across municipalities",
    ("*", "catalog.location_elsewhere"): "the public catalog sends any location to its municipality",
    ("*", "api.location"): "open data: every municipality's locations",
    ("*", "catalog.location"): "a location's public page (its own host decides, by the location's id)",
}
REFUSED = {400, 403, 404, 405, 410}
# A page each role may open: the control that its client really is logged in on that host.
OWN_PAGE = {"parent": (None, "/aanvragen/"), "referrer": (None, "/toeleider/"), "staff": ("herent", "/opvang/"),
            "coordinator": ("herent", "/beheer/"), "admin": (None, "/beheer/regio/")}
# Answers that are what the route is for, not an error: the readiness probe says 503 while no
# scheduler has reported (none runs in tests).
EXPECTED_5XX = {"observability.readyz"}


@dataclass
class World:
    herent: object
    leuven: object
    ids: dict  # argument name → list of (label, value) of foreign objects
    pairs: list  # (location_id, application_id) combinations, each (label, {arg: value})
    people: dict


@pytest.fixture
def world(app, make_tenant, make_location, make_user):
    session = db.session
    now = utcnow()
    herent = make_tenant("herent", name="Herent")
    leuven = make_tenant("leuven", name="Leuven")
    free = {(f.START, "baby"): 3}
    la1 = make_location(herent, "Eigen Crèche", free=free)
    la2 = make_location(herent, "Andere Crèche Herent", free=free)
    lb1 = make_location(leuven, "Geheime Leuvense Crèche", free=free, postcode="3000", locality="Leuven")

    parent_a, family_a = f.make_family(session, name="Gewone Ouder")
    care_a = f.make_request(session, family_a, f.make_child(session, family_a, first_name="Eigenkind"), locations=[la1])

    # B: a family living in Leuven that asked only Leuven, with an offer
    parent_b, family_b = f.make_family(session, name="Foreignparent Leuven", email="foreign-parent@leuvenmatrix.be",
                                       postcode="3000", locality="Leuven", phone="+32 16 99 88 77")
    care_b = f.make_request(session, family_b, f.make_child(session, family_b, first_name="Zebedeus",
                                                            last_name="Foreignparent"), locations=[lb1])
    choice_b = care_b.choices[0]
    _, application_b = f.make_offer(session, choice_b)

    # A's other location: a family of Herent that chose only LA2 (foreign to LA1's staff)
    _, family_a2 = f.make_family(session, name="Andereplek Ouder")
    care_a2 = f.make_request(session, family_a2, f.make_child(session, family_a2, first_name="Wolfgangina",
                                                              last_name="Andereplek"), locations=[la2])
    _, application_a2 = f.application_of(session, care_a2.choices[0])

    # B's desk: a family it filed by phone, news on its call list, an organiser, staff, an invitation
    desk_b = make_user("coordinator", tenant=leuven, name="Desk Leuven")
    phoned = Family(language="nl", desk_tenant_id=leuven.id, phone="+32 16 99 88 77",
                    guardians=[Guardian(name="Desknaam Leuvenaar", email="")])
    session.add(phoned)
    session.flush()
    families.update_details(session, phoned, street="Bondgenotenlaan", number="1", postcode="3000",
                            locality="Leuven", phone="+32 16 99 88 77", needs_care_for_work=True,
                            single_parent=False, low_income=False)
    child = f.make_child(session, phoned, first_name="Zebedeus", last_name="Desknaam")
    filed = requests.draft(session, phoned, child, actor_id=desk_b.id)
    requests.set_plan(filed, child, start_date=f.START, flexibility_weeks=0, care_plan=dict(f.PLAN),
                      keep_higher_choices=False, today=f.TODAY)
    requests.add_choice(session, filed, child, lb1.id)
    requests.submit(session, filed, phoned, child, actor_id=desk_b.id, actor_role=ActorRole.DESK, now=now,
                    today=f.TODAY)
    entry = record_news(session, phoned, template="request_update", key=f"matrix:{uuid.uuid4()}",
                        data={"status": "offered"}, tenant=leuven, actor_role=None)
    with tenant_scope(session, leuven):
        organiser = create_organiser(session, {"name": "vzw Leuvense Geheimen"}, actor_id=None, now=now)
    staff_b = make_user("provider_staff", tenant=leuven, locations=[lb1.id], name="Foreignparent Staff")
    membership_b = next(m for m in staff_b.memberships if m.role == "provider_staff")
    invitation_b = invitations.invite(session, leuven, email="foreign-invite@leuvenmatrix.be", language="nl",
                                      location_ids=[lb1.id], actor_id=desk_b.id, now=now)
    session.flush()

    people = {
        "parent": parent_a,
        "referrer": make_user("referrer", organisation="OCMW Herent"),
        "staff": make_user("provider_staff", tenant=herent, locations=[la1.id]),
        "coordinator": make_user("coordinator", tenant=herent),
        "admin": make_user("admin"),
    }
    assert care_a.status == "open"
    ids = {
        "location_id": [("B's location", lb1.id)],
        "request_id": [("B's request", care_b.id), ("B's desk-filed request", filed.id)],
        "choice_id": [("B's choice", choice_b.id)],
        "family_id": [("B's family", family_b.id), ("B's desk-filed family", phoned.id)],
        "guardian_id": [("B's guardian", family_b.guardians[0].id)],
        "organiser_id": [("B's organiser", organiser.id)],
        "membership_id": [("B's staff membership", membership_b.id)],
        "invitation_id": [("B's invitation", invitation_b.id)],
        "entry_id": [("B's call-list entry", entry.id)],
        "user_id": [("B's parent", parent_b.id)],
        "application_id": [("B's application", application_b.id)],
    }
    pairs = [
        ("B's location and application", {"location_id": lb1.id, "application_id": application_b.id}),
        ("own location, B's application", {"location_id": la1.id, "application_id": application_b.id}),
        ("own location, other location's application", {"location_id": la1.id, "application_id": application_a2.id}),
        ("other location and its application", {"location_id": la2.id, "application_id": application_a2.id}),
    ]
    ids["location_id"].append(("A's other location", la2.id))
    ids.update({name: [("a region object", value)] for name, value in REGION_OBJECTS.items()})
    return World(herent, leuven, ids, pairs, people)


def _rules(app) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules()
                   if not r.endpoint.endswith("static") and r.endpoint != "probe"), key=lambda r: r.rule)


def _unknown_arguments(rule: Rule, world_ids) -> set[str]:
    return set(rule.arguments) - set(PLAIN_ARGUMENTS) - set(world_ids)


def _variants(rule: Rule, world: World):
    """Each way to fill the rule's arguments with foreign objects: (label, values)."""
    # sorted: the same cases every run; an argument with a default (".../nieuw") is not filled
    objects = [a for a in sorted(rule.arguments) if a in world.ids and a not in (rule.defaults or {})]
    plain = {a: PLAIN_ARGUMENTS[a] for a in rule.arguments if a in PLAIN_ARGUMENTS}
    if {"location_id", "application_id"} <= set(objects):
        for label, values in world.pairs:
            rest = {a: world.ids[a][0][1] for a in objects if a not in values}
            yield label, {**plain, **rest, **values}
        return
    if not objects:
        yield "no object", plain
        return
    # one variant per foreign object of the first object argument, the others their first
    first, others = objects[0], objects[1:]
    for label, value in world.ids[first]:
        yield label, {**plain, first: value, **{a: world.ids[a][0][1] for a in others}}


def _deliberate(role: str, endpoint: str) -> bool:
    return any(who in (role, "*") and endpoint.startswith(prefix) for who, prefix in DELIBERATE)


def _foreign_to(role: str, label: str) -> bool:
    """Objects of another location of A are foreign only to that municipality's location staff
    (and those without any right in it); the coordinator of A and the admin may see them."""
    if label.startswith(("A's other location", "other location", "own location, other")):
        return role in ("anonymous", "parent", "referrer", "staff")
    return True


def test_every_route_is_classified(app, world):
    unknown = {r.rule: sorted(_unknown_arguments(r, world.ids)) for r in _rules(app)
               if _unknown_arguments(r, world.ids)}
    assert unknown == {}, "give these arguments their foreign objects in tests/test_isolation_matrix.py"
    for rule in _rules(app):
        assert rule_for(app, rule.endpoint) is not None, rule.rule


def _client(app, world, role, host_tenant):
    client = app.test_client()
    if role != "anonymous":
        login(client, world.people[role])
        if host_tenant is not None:
            hand_over(client, host_tenant, "/")
    return client


def test_no_role_of_a_reaches_the_objects_of_b(app, world):
    cases, failures = 0, []
    rules = _rules(app)
    for role in ROLES:
        clients = {}
        for rule in rules:
            hosts = rule_for(app, rule.endpoint).hosts
            # A's people work on A's host; region pages on the region's
            tenant = world.herent if Hosts.MUNICIPALITY in hosts and not (Hosts.REGION in hosts and
                                                                           rule.endpoint.startswith("api.")) else None
            if tenant is None and Hosts.REGION not in hosts:
                continue
            key = tenant.slug if tenant is not None else "region"
            if key not in clients:
                clients[key] = _client(app, world, role, tenant)
            client = clients[key]
            methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
            for label, values in _variants(rule, world):
                if label == "no object" and methods != ["GET"]:
                    methods = ["GET"] if "GET" in methods else []  # nothing foreign to act on
                path = rule.build(values, append_unknown=False)[1]
                for method in methods:
                    cases += 1
                    response = client.open(path, method=method, base_url=host_url(tenant))
                    body = response.get_data(as_text=True)
                    response.close()
                    where = f"{role} {method} {path} ({rule.endpoint}, {label}) → {response.status_code}"
                    if response.status_code >= 500 and rule.endpoint not in EXPECTED_5XX:
                        failures.append(f"{where}: server error")
                        continue
                    deliberate = _deliberate(role, rule.endpoint)
                    markers = () if deliberate else FOREIGN_PERSONAL
                    if role == "staff" or label.startswith(("A's other", "other location", "own location, other")):
                        markers += () if deliberate or not _foreign_to(role, label) else OTHER_LOCATION_PERSONAL
                    back_office = rule.endpoint.split(".")[0] in ("coordinator", "provider", "admin", "referrer")
                    if back_office and not deliberate:
                        markers += FOREIGN_OFFER
                    shown = [m for m in markers if m in body or m in response.headers.get("Location", "")]
                    if shown:
                        failures.append(f"{where}: shows {shown}")
                    if label == "no object" or deliberate or not _foreign_to(role, label):
                        continue
                    status = response.status_code
                    to_login = status in (302, 303) and "/aanmelden" in response.headers.get("Location", "")
                    if not (status in REFUSED or (role == "anonymous" and to_login)):
                        failures.append(f"{where}: not refused")
        if role in OWN_PAGE:
            slug, path = OWN_PAGE[role]
            control = clients.get(slug or "region") or _client(app, world, role, world.herent if slug else None)
            assert control.get(path, base_url=host_url(world.herent if slug else None)).status_code == 200, role
    print(f"isolation matrix: {cases} (route × method × role × object) cases")
    assert cases > 500
    assert failures == [], "\n".join(failures)
