"""Priority policy versions kept by the region's administrators: listed with their periods, a
new version added in a form (dated after today, never on or inside another version), a version
in force or past never edited, every change audited in the region's log; a version added for
a future date changes rankings only from that date, and the ranking names the version."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from regional_loket.applications import PriorityPolicy, policies, ranking
from regional_loket.extensions import db
from regional_loket.tenancy import tenant_scope

from . import factories
from .conftest import hand_over, host_url, login, municipal_audit_count, region_audit, translated

TODAY = date(2027, 1, 15)
BEFORE_2024 = ["care_for_work", "single_parent", "low_income", "foster_child", "sibling_here"]
LOW_INCOME_FIRST = ["low_income", "single_parent", "care_for_work", "foster_child", "sibling_here"]


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\xa0", " ")


def _form(**changes) -> dict:
    values = {"name_nl": "Regionale voorrangsregels 2027", "name_fr": "Règles régionales 2027",
              "name_en": "Regional priority rules 2027", "tie_break": "submitted_at", "effective_from": "2027-03-01"}
    values.update({f"criterion_{i}": code for i, code in enumerate(LOW_INCOME_FIRST, 1)})
    values.update(changes)
    return values


@pytest.fixture
def clock(app):
    app.config["CLOCK_NOW"] = "2027-01-15T10:00:00+01:00"
    yield
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def admin(app, client, make_user, make_tenant, clock):
    tenants = [make_tenant("herent"), make_tenant("leuven")]
    user = make_user("admin")
    login(client, user)
    return {"client": client, "user": user, "tenants": tenants}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(PriorityPolicy))


def test_the_list_shows_every_version_with_its_period_and_status(admin):
    page = _text(admin["client"].get("/beheer/regio/voorrang", base_url=host_url()))
    assert "Vlaamse voorrangsregels van 1 april 2024 (vernietigd op 30 april 2025)" in page
    assert page.count("vernietigd</span>") == 1
    assert page.count("van kracht</span>") == 1 and page.count("voorbij</span>") == 1
    assert "30 apr 2025 – tot een volgende versie" in page
    assert "/beheer/regio/voorrang/" not in page.replace("/beheer/regio/voorrang/nieuw", "")  # nothing to edit


def test_versions_know_where_they_stand(app):
    found = {(v.policy.code, v.policy.effective_from): v for v in policies.versions(db.session, today=TODAY)}
    assert found[("flemish_2024", date(2024, 4, 1))].state == "annulled"
    assert found[("flemish_before_2024", date(2025, 4, 30))].state == "in_force"
    assert found[("flemish_before_2024", date(2014, 4, 1))].state == "past"
    assert not any(v.editable for v in found.values())


def test_an_administrator_adds_a_version_for_a_future_date(admin):
    assert admin["client"].get("/beheer/regio/voorrang/nieuw", base_url=host_url()).status_code == 200
    response = admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(), base_url=host_url())
    assert response.status_code == 302
    added = db.session.scalar(sa.select(PriorityPolicy).where(PriorityPolicy.effective_from == date(2027, 3, 1)))
    assert added.criteria == LOW_INCOME_FIRST and added.tie_break == "submitted_at" and not added.annulled
    assert added.name == {"nl": "Regionale voorrangsregels 2027", "fr": "Règles régionales 2027",
                          "en": "Regional priority rules 2027"}
    [entry] = region_audit("policy.add")
    assert entry.actor_id == admin["user"].id and entry.actor_role == "admin" and entry.subject == str(added.id)
    assert entry.detail == {"effective_from": "2027-03-01", "criteria": LOW_INCOME_FIRST,
                            "tie_break": "submitted_at"}
    assert municipal_audit_count(admin["tenants"], "policy.add") == 0
    page = _text(admin["client"].get("/beheer/regio/voorrang", base_url=host_url()))
    assert "gepland</span>" in page and f"/beheer/regio/voorrang/{added.id}" in page
    # the version in force now ends the day before
    assert "30 apr 2025 – 28 feb 2027" in page
    # still to come: it may be corrected, and the correction is audited
    response = admin["client"].post(f"/beheer/regio/voorrang/{added.id}",
                                    data=_form(effective_from="2027-04-01", criterion_5=""), base_url=host_url())
    assert response.status_code == 302
    db.session.refresh(added)
    assert added.effective_from == date(2027, 4, 1) and added.criteria == LOW_INCOME_FIRST[:4]
    [entry] = region_audit("policy.update")
    assert entry.detail["effective_from"] == ["2027-03-01", "2027-04-01"]
    assert sorted(entry.detail["changed"]) == ["criteria", "effective_from"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"effective_from": "2027-01-15"}, "effective_from", "Een nieuwe versie begint na vandaag (ten vroegste 2027-01-16)."),
    ({"effective_from": "2026-06-01"}, "effective_from", "Een nieuwe versie begint na vandaag"),
    ({"effective_from": ""}, "effective_from", "Vul een geldige datum in."),
    ({"effective_from": "2027-13-01"}, "effective_from", "Ongeldige datum."),
    ({"effective_from": "٢٠٢٧-٠٣-٠١"}, "effective_from", "Vul een geldige datum in."),
    ({"name_nl": " "}, "name_nl", "Geef de versie een naam."),
    ({"name_fr": "x" * 201}, "name_fr", "Hoogstens 200 tekens."),
    ({f"criterion_{i}": "" for i in range(1, 6)}, "criterion_1", "Kies minstens één criterium."),
    ({"criterion_2": "low_income"}, "criterion_1", "Elk criterium mag maar één keer in de volgorde staan."),
    ({"criterion_3": "astrology"}, "criterion_1", "Kies de criteria uit de lijst."),
    ({"tie_break": "random"}, "tie_break", ""),
])
def test_bad_versions_are_refused_with_nothing_written(admin, changes, field, message):
    before = _count()
    response = admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(**changes), base_url=host_url())
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in _text(response)
    assert _count() == before and region_audit("policy.add") == []


def test_a_version_on_or_inside_another_ones_dates_is_refused(admin):
    assert admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(), base_url=host_url()).status_code == 302
    same_day = admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(name_nl="Dubbel"), base_url=host_url())
    assert same_day.status_code == 422
    assert 'id="effective_from-error">Op 2027-03-01 begint al een andere versie.' in _text(same_day)
    # a closed period (as the seeded history has) holds no other version's start
    db.session.add(PriorityPolicy(code="closed", name={"nl": "Tijdelijk"}, effective_from=date(2027, 6, 1),
                                  effective_until=date(2027, 8, 31), criteria=BEFORE_2024, tie_break="submitted_at",
                                  annulled=False))
    db.session.flush()
    inside = admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(effective_from="2027-07-01"),
                                  base_url=host_url())
    assert inside.status_code == 422
    assert "Die datum valt in de periode van een andere versie (2027-06-01 tot 2027-08-31)." in _text(inside)
    assert _count() == 5


def test_a_version_in_force_past_or_annulled_is_never_edited(admin):
    for version in policies.versions(db.session, today=TODAY):
        before = (version.policy.effective_from, list(version.policy.criteria), dict(version.policy.name))
        for method in ("get", "post"):
            response = getattr(admin["client"], method)(f"/beheer/regio/voorrang/{version.policy.id}",
                                                        data=_form(), base_url=host_url())
            assert response.status_code == 303 and response.headers["Location"].endswith("/beheer/regio/voorrang")
        db.session.refresh(version.policy)
        assert (version.policy.effective_from, version.policy.criteria, version.policy.name) == before
    with pytest.raises(policies.NotEditable):
        current = ranking.policy_in_force(db.session, TODAY)
        policies.update(db.session, current, {}, today=TODAY)
    assert admin["client"].get(f"/beheer/regio/voorrang/{factories.uuid.uuid4()}",
                               base_url=host_url()).status_code == 404


def test_a_version_that_started_meanwhile_is_no_longer_editable(app, admin):
    admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(), base_url=host_url())
    added = db.session.scalar(sa.select(PriorityPolicy).where(PriorityPolicy.effective_from == date(2027, 3, 1)))
    app.config["CLOCK_NOW"] = "2027-03-01T08:00:00+01:00"
    response = admin["client"].post(f"/beheer/regio/voorrang/{added.id}", data=_form(effective_from="2027-05-01"),
                                    base_url=host_url())
    assert response.status_code == 303
    db.session.refresh(added)
    assert added.effective_from == date(2027, 3, 1)


def test_errors_are_translated(app, admin):
    admin["client"].get("/lang/fr", base_url=host_url())
    response = admin["client"].post("/beheer/regio/voorrang/nieuw", data=_form(name_nl=""), base_url=host_url())
    assert translated(app, "fr", "Geef de versie een naam.") in _text(response)
    admin["client"].get("/lang/en", base_url=host_url())
    page = _text(admin["client"].get("/beheer/regio/voorrang", base_url=host_url()))
    assert translated(app, "en", "van kracht") in page
    assert "Flemish priority rules of 1 April 2024 (annulled on 30 April 2025)" in page


POLICY_ROUTES = ["/beheer/regio/voorrang", "/beheer/regio/voorrang/nieuw"]


@pytest.mark.parametrize("role", ["parent", "coordinator", "provider_staff", "referrer"])
def test_a_non_administrator_is_refused_on_every_policy_route(app, make_user, make_tenant, clock, role):
    tenant = make_tenant("herent")
    kwargs = {"tenant": tenant} if role in ("coordinator", "provider_staff") else {}
    if role == "referrer":
        kwargs["organisation"] = "OCMW Herent"
    user = make_user(*([] if role == "parent" else [role]), **kwargs)
    future = PriorityPolicy(code="future", name={"nl": "Later"}, effective_from=date(2027, 9, 1), criteria=BEFORE_2024,
                            tie_break="submitted_at", annulled=False)
    db.session.add(future)
    db.session.flush()
    client = app.test_client()
    login(client, user)
    before = _count()
    for path in [*POLICY_ROUTES, f"/beheer/regio/voorrang/{future.id}"]:
        for method in ("get", "post"):
            response = getattr(client, method)(path, data=_form(), base_url=host_url())
            assert response.status_code == (405 if path == POLICY_ROUTES[0] and method == "post" else 403), (
                role, method, path)
    assert _count() == before and future.effective_from == date(2027, 9, 1)
    anonymous = app.test_client().get(POLICY_ROUTES[0], base_url=host_url())
    assert anonymous.status_code == 302 and "/aanmelden" in anonymous.headers["Location"]


def test_the_policy_pages_are_not_on_a_municipal_host(admin):
    assert admin["client"].get("/beheer/regio/voorrang", base_url=host_url(admin["tenants"][0])).status_code == 404


# --- the ranking ------------------------------------------------------------------------------


@pytest.fixture
def waiting(make_tenant, make_location, make_user):
    """Two families at one income-tariff location: a single parent who asked first, and a family
    with a low income who asked second (both for work)."""
    herent = make_tenant("herent")
    location = make_location(herent, "Kinderdagverblijf De Zonnebloem", free={(factories.START, "baby"): 1})
    rows = {}
    for key, declarations, name in (("single", {"single_parent": True}, "Lien"), ("low", {"low_income": True}, "Mo")):
        parent, family = factories.make_family(db.session, email=f"{key}@example.be", **declarations)
        child = factories.make_child(db.session, family, first_name=name)
        rows[key] = factories.make_request(db.session, family, child, locations=[location], actor_id=parent.id)
        rows[key + "_parent"] = parent
    return {"tenant": herent, "location": location, **rows,
            "staff": make_user("provider_staff", tenant=herent, locations=[location.id])}


def _order(waiting, on: date) -> list[str]:
    with tenant_scope(db.session, waiting["tenant"]):
        location = db.session.get(type(waiting["location"]), waiting["location"].id)
        ranked = ranking.all_lists(db.session, location, today=on)
    by_request = {waiting["single"].id: "single", waiting["low"].id: "low"}
    return [(by_request[r.application.request_id], r.explanation) for r in ranked]


def test_a_version_for_a_future_date_changes_rankings_only_from_that_date(app, waiting):
    start = TODAY + timedelta(days=30)
    policies.add(db.session, {"name_nl": "Regionale regels 2027", "criteria": LOW_INCOME_FIRST,
                              "tie_break": "submitted_at", "effective_from": start}, today=TODAY)
    before = _order(waiting, TODAY)
    day_before = _order(waiting, start - timedelta(days=1))
    after = _order(waiting, start)
    assert [k for k, _ in before] == [k for k, _ in day_before] == ["single", "low"]
    assert [k for k, _ in after] == ["low", "single"]
    # the explanation says which version ranked the list, with its start
    assert all("Voorrangsregels: Vlaamse voorrangsregels van vóór 1 april 2024" in text for _, text in before)
    assert all("van toepassing sinds 30 april 2025." in text for _, text in before)
    assert all("Voorrangsregels: Regionale regels 2027, van toepassing sinds 14 februari 2027." in text
               for _, text in after)
    assert after[0][1].startswith("Plaats 1. Voldoet aan: inkomen onder de grens")


def test_staff_and_the_family_see_the_version_that_applied(app, waiting):
    client = app.test_client()
    login(client, waiting["staff"])
    hand_over(client, waiting["tenant"], "/opvang/")
    inbox = _text(client.get(f"/opvang/{waiting['location'].id}/", base_url=host_url(waiting["tenant"])))
    assert "Voorrangsregels: Vlaamse voorrangsregels van vóór 1 april 2024 (opnieuw van toepassing sinds 30 april " \
           "2025), van toepassing sinds 30 april 2025." in inbox
    family = app.test_client()
    login(family, waiting["low_parent"])
    page = _text(family.get(f"/aanvragen/{waiting['low'].id}", base_url=host_url()))
    assert "Plaats 2." in page and "Voorrangsregels: Vlaamse voorrangsregels van vóór 1 april 2024" in page
    family.get("/lang/en", base_url=host_url())
    page = _text(family.get(f"/aanvragen/{waiting['low'].id}", base_url=host_url()))
    assert "Flemish priority rules as in force before 1 April 2024" in page
