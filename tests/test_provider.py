"""The provider back office: ranked and explained lists, actions, no overbooking, free places,
profile, exports — and staff of one location never reach another's applications."""

import csv
import io
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from regional_loket.catalog.models import (
    Availability,
    CatalogAvailability,
    CatalogLocation,
    Location,
)
from regional_loket.database import utcnow
from regional_loket.extensions import db
from regional_loket.provider import ranking
from regional_loket.provider import services as provider
from regional_loket.provider.models import PriorityPolicy
from regional_loket.requests.models import Application, Status
from regional_loket.tenancy import tenant_scope

from .conftest import host_url, login
from .test_requests import START, TODAY, _application, _submit, world  # noqa: F401 — fixture

# --- ranking properties ------------------------------------------------------------------------

FLAGS = ("needs_care_for_work", "single_parent", "low_income", "foster_child", "sibling_here")
BEFORE_2024 = ["care_for_work", "single_parent", "low_income", "foster_child", "sibling_here"]
OF_2024 = ["care_for_work", "sibling_here", "foster_child", "single_parent", "low_income"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fake(declarations: dict, minutes: int) -> Application:
    return Application(id=uuid.uuid4(), snapshot={"declarations": declarations}, flags={},
                       submitted_at=T0 + timedelta(minutes=minutes))


applications = st.lists(
    st.tuples(st.fixed_dictionaries({f: st.booleans() for f in FLAGS}), st.integers(0, 10_000)),
    min_size=0, max_size=25,
).map(lambda items: [_fake(d, m) for d, m in items])


@given(applications)
def test_ranking_is_deterministic(apps):
    once = [r.application.id for r in ranking.rank(apps, BEFORE_2024)]
    again = [r.application.id for r in ranking.rank(list(reversed(apps)), BEFORE_2024)]
    assert once == again
    assert [r.position for r in ranking.rank(apps, BEFORE_2024)] == list(range(1, len(apps) + 1))


@given(applications)
def test_a_higher_tier_always_ranks_first_and_ties_go_by_submission(apps):
    ranked = ranking.rank(apps, BEFORE_2024)
    keys = [tuple(not ranking.meets(r.application, c) for c in BEFORE_2024) for r in ranked]
    assert keys == sorted(keys)
    for before, after in zip(ranked, ranked[1:], strict=False):
        same = [ranking.meets(before.application, c) for c in BEFORE_2024] == \
               [ranking.meets(after.application, c) for c in BEFORE_2024]
        if same:
            assert before.application.submitted_at <= after.application.submitted_at


@given(applications)
def test_every_place_is_explained(apps):
    for r in ranking.rank(apps, BEFORE_2024):
        assert r.explanation.startswith(f"Plaats {r.position}.")
        for criterion in r.met:
            assert str(ranking.CRITERIA[criterion]) in r.explanation


def test_a_change_of_policy_version_reranks_as_specified():
    sibling = _fake({"sibling_here": True}, 1)
    single = _fake({"single_parent": True}, 2)
    assert [r.application for r in ranking.rank([sibling, single], BEFORE_2024)] == [single, sibling]
    assert [r.application for r in ranking.rank([sibling, single], OF_2024)] == [sibling, single]


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
    go = client.get("/sessie/naar", query_string={"to": host_url(tenant) + "/opvang/"}, base_url=host_url())
    client.get(go.headers["Location"].split(host_url(tenant), 1)[1], base_url=host_url(tenant))
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
    with pytest.raises(provider.ActionError, match="verleden"):
        provider.offer(db.session, tenant, application, deadline=TODAY - timedelta(days=1), actor_id=None,
                       now=utcnow(), today=TODAY)
    with pytest.raises(provider.ActionError, match="geen vrije plaats"):
        provider.offer(db.session, tenant, application, month=date(START.year + 1, START.month, 1), deadline=None,
                       actor_id=None, now=utcnow(), today=TODAY)
    with pytest.raises(provider.ActionError, match="Kies een reden"):
        provider.reject(db.session, tenant, application, reason="", text=None, actor_id=None, now=utcnow())
    with pytest.raises(provider.ActionError, match="Licht de reden toe"):
        provider.reject(db.session, tenant, application, reason="other", text=" ", actor_id=None, now=utcnow())
    with pytest.raises(provider.ActionError, match="gewijzigd"):
        provider.waitlist(db.session, tenant, application, actor_id=None, now=utcnow(), version=application.version - 1)
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
    import re
    assert done.status_code == 302, re.findall(r"alert__message[^>]*>([^<]*)", done.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(type(care.choices[0]), care.choices[0].id).status == "rejected"


def test_free_places_grid(app, world, staffed):  # noqa: F811
    care = _submit(world, "h1")
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    h1_id = h1.id
    tenant, application = _application(world, care.choices[0])
    provider.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
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
    provider.offer(db.session, tenant, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
    provider.record_phone_acceptance(db.session, tenant, application, actor_id=None, now=utcnow(), today=TODAY)
    with tenant_scope(db.session, tenant):
        assert provider.vulnerable_share(db.session, None, year=TODAY.year) == (0, 1)  # declared low income later


# --- no overbooking: the last place, two staff at once -----------------------------------------


def test_two_staff_offering_the_last_place_at_once_one_wins(committed):
    from regional_loket.families import services as families
    from regional_loket.requests import services as requests

    app, slugs = committed(1)
    with app.app_context():
        from regional_loket.accounts import services as accounts
        from regional_loket.tenancy import services as tenancy

        tenant = tenancy.get_tenant(db.session, slugs[0])
        start = START
        with tenant_scope(db.session, tenant):
            place = Location(name="Laatste Plaats", organiser="x", kind="group", street="s", number="1",
                             postcode="3020", locality="Herent", lat=50.9, lon=4.67, licensed_places=10,
                             min_age_months=0, max_age_months=36, opening_days=[1, 2, 3, 4, 5],
                             opens_at=datetime.min.time(), closes_at=datetime.max.time().replace(microsecond=0),
                             closures=[], languages=["nl"], tariff="income", description={}, accepts_online=True,
                             active=True, extra_criteria=[])
            place.availability.append(Availability(month=start, age_group="baby", free_places=1))
            db.session.add(place)
            db.session.flush()
        place_id = place.id
        ids = []
        for n in range(2):
            user, _ = accounts.register(db.session, email=f"race{n}-{slugs[0]}@example.be", password="x" * 14, name="R")
            family = families.ensure_family(db.session, user, language="nl")
            family.postcode = "3020"
            child = families.add_child(db.session, family, first_name=f"Kind{n}", last_name="Race",
                                       birth_date=TODAY - timedelta(days=200), due_date=None, national_number=None,
                                       pepper="p", today=TODAY)
            care = requests.draft(db.session, family, child, actor_id=None)
            requests.set_plan(care, child, start_date=start, flexibility_weeks=0, care_plan={"1": "full"},
                              keep_higher_choices=False, today=TODAY)
            requests.add_choice(db.session, care, child, place_id)
            requests.submit(db.session, care, family, child, actor_id=None, now=utcnow(), today=TODAY)
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
                provider.offer(db.session, t, application, deadline=None, actor_id=None, now=utcnow(), today=TODAY)
                db.session.commit()
                outcomes.append("offered")
            except provider.ActionError as error:
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
    from regional_loket.provider.jobs import expire_offers_now

    care = _submit(world, "h1")
    tenant, application = _application(world, care.choices[0])
    provider.offer(db.session, tenant, application, deadline=TODAY, actor_id=None, now=utcnow(), today=TODAY)
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
