"""The income-related tariff: the pure estimate against hand-computed figures, the families'
calculator on a location page and in the request's review step (nothing stored, bad input
answered next to the field), and the administrators' yearly figures (checked, audited)."""

from __future__ import annotations

import html
import uuid
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from regional_loket.extensions import db
from regional_loket.tariffs import IncomeTariff, LowIncomeThreshold, Plan, estimate
from regional_loket.tariffs import services as tariffs

from . import factories
from .conftest import host_url, login, municipal_audit_count, region_audit, translated

# The seeded 2024 figures (shared_0016): the published amounts, placeholder income bounds.
Y2024 = dict(year=2024, minimum=D("6.24"), lowest_minimum=D("1.97"), maximum=D("34.64"), child_reduction=D("3.91"),
             income_lower=D("30000"), income_upper=D("75000"), part_day_below_hours=D(5), long_day_above_hours=D(11),
             part_day_share=D(60), full_day_share=D(100), long_day_share=D(130))


def params(**changes) -> IncomeTariff:
    return IncomeTariff(**{**Y2024, **changes})


# --- the pure function: each figure below computed by hand -----------------------------------
#  slope between the bounds: (34.64 − 6.24) / (75 000 − 30 000) = 28.40 / 45 000 per euro
#  a month: a week × 52 / 12

@pytest.mark.parametrize(("income", "children", "plan", "day", "part", "long", "week", "month"), [
    # below the lower bound → minimum; 3 full + 1 half: 3 × 6.24 + 3.74 = 22.46; × 52/12 = 97.33
    ("20000", 1, Plan(3, 1), "6.24", "3.74", "8.11", "22.46", "97.33"),
    # exactly at the lower bound → still the minimum
    ("30000", 1, Plan(5), "6.24", "3.74", "8.11", "31.20", "135.20"),
    # half-way: 6.24 + 22 500 × 28.40 / 45 000 = 6.24 + 14.20 = 20.44; 5 days = 102.20 → 442.87
    ("52500", 1, Plan(5), "20.44", "12.26", "26.57", "102.20", "442.87"),
    # a third of the way: 6.24 + 6.3111… = 12.5511 → 12.55
    ("40000", 1, Plan(5), "12.55", "7.53", "16.32", "62.75", "271.92"),
    # three children: 20.44 − 2 × 3.91 = 12.62; part 60 % = 7.572 → 7.57; long 130 % = 16.406 → 16.41
    ("52500", 3, Plan(5), "12.62", "7.57", "16.41", "63.10", "273.43"),
    # mixed plan: 2 × 20.44 + 2 × 12.26 + 26.57 = 91.97 → × 52/12 = 398.5366… → 398.54
    ("52500", 1, Plan(2, 2, 1), "20.44", "12.26", "26.57", "91.97", "398.54"),
    # the request's plan (3 full, 1 half) with two children: 16.53, 9.918 → 9.92; 59.51 → 257.88
    ("52500", 2, Plan(3, 1), "16.53", "9.92", "21.49", "59.51", "257.88"),
    # above the upper bound → maximum; two children: 34.64 − 3.91 = 30.73; long 39.949 → 39.95
    ("100000", 2, Plan(5), "30.73", "18.44", "39.95", "153.65", "665.82"),
    ("75000", 1, Plan(1), "34.64", "20.78", "45.03", "34.64", "150.11"),
    # the reduction stops at the lowest minimum: 6.24 − 2 × 3.91 = −1.58 → 1.97
    ("20000", 3, Plan(5), "1.97", "1.18", "2.56", "9.85", "42.68"),
    # one more child stays above the floor: 6.24 − 3.91 = 2.33
    ("0", 2, Plan(1), "2.33", "1.40", "3.03", "2.33", "10.10"),
])
def test_the_estimate_against_hand_computed_figures(income, children, plan, day, part, long, week, month):
    result = estimate(params(), income=D(income), children=children, plan=plan)
    assert (result.day_price, result.part_day_price, result.long_day_price, result.week_cost, result.month_cost) == (
        D(day), D(part), D(long), D(week), D(month))
    assert all(isinstance(v, D) for v in (result.day_price, result.week_cost, result.month_cost))


def test_the_edges_are_flagged():
    assert estimate(params(), income=D("30000"), children=1, plan=Plan(1)).at_minimum
    assert not estimate(params(), income=D("30000.01"), children=1, plan=Plan(1)).at_minimum
    assert estimate(params(), income=D("75000"), children=1, plan=Plan(1)).at_maximum
    assert estimate(params(), income=D("20000"), children=3, plan=Plan(1)).floored
    assert not estimate(params(), income=D("20000"), children=2, plan=Plan(1)).floored
    # the maximum with five children: each further child still takes its reduction off
    assert estimate(params(), income=D("90000"), children=5, plan=Plan(1)).day_price == D("19.00")  # 34.64 − 4 × 3.91


def test_the_estimate_refuses_what_the_form_never_sends():
    with pytest.raises(ValueError):
        estimate(params(), income=D("-1"), children=1, plan=Plan(1))
    with pytest.raises(ValueError):
        estimate(params(), income=D("1"), children=0, plan=Plan(1))


def test_a_request_plan_counts_full_and_half_days():
    assert Plan.from_care_plan(factories.PLAN) == Plan(full_days=3, half_days=1)
    assert Plan.from_care_plan(None).days == 0


# --- the figures in the database ----------------------------------------------------------


def test_seeded_figures_are_the_2024_values_marked_as_seeded(app):
    row = tariffs.tariff_for(db.session, 2024)
    assert row.seeded and row.year == 2024
    assert (row.minimum, row.lowest_minimum, row.maximum, row.child_reduction) == (
        D("6.24"), D("1.97"), D("34.64"), D("3.91"))
    assert "te verifiëren" in row.source and "plausibele" in row.source
    threshold = tariffs.threshold_for(db.session, 2024)
    assert threshold.seeded and threshold.amount == D("30000.00") and "te verifiëren" in threshold.source
    # a later year without figures uses the latest before it; an earlier one has none
    assert tariffs.tariff_for(db.session, 2031).year == 2024
    assert tariffs.tariff_for(db.session, 2023) is None


def test_migration_matches_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def ours(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is not None and table.name in ("income_tariffs", "low_income_thresholds")

    context = MigrationContext.configure(db.session.connection(), opts={
        "include_schemas": True, "include_object": ours, "compare_type": True, "compare_server_default": False})
    assert compare_metadata(context, db.metadata) == []


# --- the families' calculator ---------------------------------------------------------------


@pytest.fixture
def clock_at(app):
    def move(moment: str):
        app.config["CLOCK_NOW"] = moment

    yield move
    app.config["CLOCK_NOW"] = None


@pytest.fixture
def herent(make_tenant, make_location):
    tenant = make_tenant("herent", name="Herent")
    return {"tenant": tenant, "income": make_location(tenant, "Kinderdagverblijf De Zonnebloem"),
            "free": make_location(tenant, "Crèche Vrij", tariff="free", day_price=D("39.50"))}


def _location_page(client, tenant, location, **args):
    response = client.get(f"/locaties/{location.id}", query_string=args, base_url=host_url(tenant))
    return response, _text(response)


def _text(response) -> str:
    """The page as a reader sees it: entities resolved, Babel's non-breaking spaces as spaces."""
    return html.unescape(response.get_data(as_text=True)).replace("\xa0", " ").replace("\u202f", " ")


def test_a_location_with_income_tariff_offers_the_estimate(client, herent, clock_at):
    clock_at("2027-01-15T10:00:00+01:00")
    response, page = _location_page(client, herent["tenant"], herent["income"])
    assert response.status_code == 200 and 'name="inkomen"' in page and "Schat uw dagprijs" in page
    response, page = _location_page(client, herent["tenant"], herent["income"], inkomen="52500", kinderen="1",
                                    volle_dagen="5", bereken="1")
    assert response.status_code == 200
    assert "€ 20,44" in page and "€ 442,87" in page
    assert "Schatting met de parameters van 2024" in page
    assert "Voor 2027 zijn er nog geen parameters" in page  # the latest year before it, and saying so
    assert "Dit is een schatting" in page and "nog niet nagekeken" in page  # seeded figures
    assert response.headers["Cache-Control"] == "no-store"


def test_a_free_price_location_has_no_calculator(client, herent):
    _response, page = _location_page(client, herent["tenant"], herent["free"])
    assert 'name="inkomen"' not in page


def test_the_year_of_the_wanted_start_chooses_the_parameters(client, herent, clock_at):
    clock_at("2027-01-15T10:00:00+01:00")
    db.session.add(IncomeTariff(**{**Y2024, "year": 2028, "minimum": D("7.00"), "maximum": D("36.00")},
                                id=uuid.uuid4(), source="test", seeded=False))
    db.session.flush()
    _r, page = _location_page(client, herent["tenant"], herent["income"], inkomen="10000", kinderen="1",
                              volle_dagen="1", startdatum="2028-03-01", bereken="1")
    assert "Schatting met de parameters van 2028" in page and "€ 7,00" in page
    assert "nog geen parameters" not in page
    _r, page = _location_page(client, herent["tenant"], herent["income"], inkomen="10000", kinderen="1",
                              volle_dagen="1", startdatum="2027-09-01", bereken="1")
    assert "Schatting met de parameters van 2024" in page and "€ 6,24" in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("inkomen", "-5", "Vul een inkomen in tussen 0 en 10 000 000 euro."),
    ("inkomen", "999999999999", "Vul een inkomen in tussen 0 en 10 000 000 euro."),
    ("inkomen", "veel", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ("inkomen", "٣٠٠٠٠", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ("inkomen", "1e9", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ("inkomen", "NaN", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ("inkomen", "", "Vul het inkomen in, in euro per jaar."),
    ("kinderen", "0", "Vul 1 tot 15 kinderen in."),
    ("kinderen", "²", "Vul een geheel getal in, met de cijfers 0 tot 9."),
    ("volle_dagen", "9", "Vul 0 tot 7 dagen in."),
    ("volle_dagen", "0", "Plan samen 1 tot 7 dagen per week."),
    ("startdatum", "2027-02-30", "Ongeldige datum."),
])
def test_bad_input_gets_a_message_next_to_the_field(client, herent, field, value, message):
    args = {"inkomen": "40000", "kinderen": "1", "volle_dagen": "2", "bereken": "1", field: value}
    before = db.session.scalar(sa.text("SELECT count(*) FROM shared.income_tariffs"))
    response, page = _location_page(client, herent["tenant"], herent["income"], **args)
    assert response.status_code == 200
    assert f'id="{field}-error">{message}<' in page
    assert "Geschatte dagprijs" not in page
    assert db.session.scalar(sa.text("SELECT count(*) FROM shared.income_tariffs")) == before


def test_the_calculator_speaks_french_and_english(app, client, herent):
    client.get("/lang/fr", base_url=host_url(herent["tenant"]))
    _r, page = _location_page(client, herent["tenant"], herent["income"], inkomen="-1", kinderen="1",
                              volle_dagen="1", bereken="1")
    assert translated(app, "fr", "Vul een inkomen in tussen 0 en 10 000 000 euro.") in page
    client.get("/lang/en", base_url=host_url(herent["tenant"]))
    _r, page = _location_page(client, herent["tenant"], herent["income"], inkomen="52500", kinderen="1",
                              volle_dagen="5", bereken="1")
    assert "€20.44" in page and "€442.87" in page
    assert translated(app, "en", "Dit is een schatting, geen prijsafspraak.") in page


@pytest.fixture
def draft(herent):
    parent, family = factories.make_family(db.session, email="an@example.be", street="Kerkstraat")
    child = factories.make_child(db.session, family)
    care = factories.make_request(db.session, family, child, locations=[herent["income"]], submit=False,
                                  actor_id=parent.id)
    return {"parent": parent, "family": family, "care": care}


def test_the_review_step_estimates_with_the_request_plan_and_stores_nothing(client, draft):
    login(client, draft["parent"])
    url = f"/aanvragen/{draft['care'].id}/nazicht"
    page = _text(client.get(url, base_url=host_url()))
    assert 'name="volle_dagen"' in page and 'value="3"' in page  # the request's plan prefills the days
    family_before = db.session.execute(sa.text("SELECT f::text FROM shared.families f WHERE id = :i"),
                                       {"i": draft["family"].id}).scalar()
    response = client.get(url, query_string={"inkomen": "52500", "kinderen": "2", "volle_dagen": "3",
                                             "halve_dagen": "1", "bereken": "1"}, base_url=host_url())
    page = _text(response)
    assert response.status_code == 200
    assert "€ 16,53" in page and "€ 9,92" in page and "€ 257,88" in page
    assert "52500" not in db.session.execute(sa.text("SELECT f::text FROM shared.families f WHERE id = :i"),
                                            {"i": draft["family"].id}).scalar()
    assert db.session.execute(sa.text("SELECT f::text FROM shared.families f WHERE id = :i"),
                              {"i": draft["family"].id}).scalar() == family_before
    assert draft["care"].status == "draft"


def test_the_family_form_names_the_threshold_of_the_start_year(client, draft):
    login(client, draft["parent"])
    page = _text(client.get(f"/aanvragen/{draft['care'].id}/gezin", base_url=host_url()))
    assert "De grens voor 2024: een gezamenlijk belastbaar inkomen van € 30.000,00 per jaar." in page


# --- the administrators' yearly figures ----------------------------------------------------


TODAY = date(2027, 1, 15)


def _tariff_form(**changes):
    values = {"year": "2027", "minimum": "6.50", "lowest_minimum": "2.05", "maximum": "35.50",
              "child_reduction": "4.00", "income_lower": "31000", "income_upper": "77000",
              "part_day_below_hours": "5", "long_day_above_hours": "11", "part_day_share": "60",
              "full_day_share": "100", "long_day_share": "130", "source": "Omzendbrief Opgroeien van 2 januari 2027"}
    values.update(changes)
    return values


@pytest.fixture
def admin(client, make_user, make_tenant, clock_at):
    clock_at("2027-01-15T10:00:00+01:00")
    tenants = [make_tenant("leuven"), make_tenant("opwijk")]
    user = make_user("admin")
    login(client, user)
    return {"client": client, "user": user, "tenants": tenants}


def test_the_admin_lists_the_figures_with_the_seeded_ones_marked(admin):
    page = _text(admin["client"].get("/beheer/regio/inkomens", base_url=host_url()))
    assert "€ 6,24" in page and "€ 34,64" in page and "€ 3,91" in page and "€ 1,97" in page
    assert "ingezaaid, te verifiëren" in page
    assert "€ 30.000,00" in page
    assert "Wijzigen" not in page  # 2024 is past: no form for it


def test_the_admin_adds_a_tariff_year_audited_in_the_regions_log(admin):
    response = admin["client"].post("/beheer/regio/inkomens/tarief/nieuw", data=_tariff_form(), base_url=host_url())
    assert response.status_code == 302
    row = tariffs.tariff_for(db.session, 2027)
    assert row.year == 2027 and row.minimum == D("6.50") and not row.seeded
    assert row.source.startswith("Omzendbrief")
    entries = region_audit("income_tariff.add")
    assert len(entries) == 1 and entries[0].actor_id == admin["user"].id and entries[0].actor_role == "admin"
    assert entries[0].detail["year"] == 2027 and entries[0].detail["figures"]["minimum"] == [None, "6.50"]
    assert "Omzendbrief" not in str(entries[0].detail)  # words stay out of the log
    assert municipal_audit_count(admin["tenants"], "income_tariff.add") == 0
    # corrected later the same year
    response = admin["client"].post(f"/beheer/regio/inkomens/tarief/{row.id}", data=_tariff_form(maximum="36.00"),
                                    base_url=host_url())
    assert response.status_code == 302
    db.session.refresh(row)
    assert row.maximum == D("36.00")
    assert region_audit("income_tariff.update")[0].detail["figures"] == {"maximum": ["35.50", "36.00"]}


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"minimum": "40.00"}, "minimum", "Het minimum ligt boven het maximum."),
    ({"lowest_minimum": "7.00"}, "lowest_minimum", "Het laagste minimum ligt boven het minimum."),
    ({"income_upper": "31000"}, "income_upper", "De inkomensgrenzen moeten stijgen"),
    ({"income_upper": "20000"}, "income_upper", "De inkomensgrenzen moeten stijgen"),
    ({"long_day_above_hours": "4"}, "long_day_above_hours", "De uurgrenzen moeten stijgen"),
    ({"part_day_share": "0"}, "part_day_share", "Een aandeel moet groter zijn dan 0 %."),
    ({"long_day_share": "-5"}, "long_day_share", "Vul een getal van 0 of meer in."),
    ({"year": "2024"}, "year", "Kies het huidige jaar of een van de 5 volgende (2027–2032)."),
    ({"source": " "}, "source", "Vermeld de bron van de cijfers."),
    ({"minimum": "zes"}, "minimum", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ({"minimum": "٦"}, "minimum", "Vul een getal in met de cijfers 0 tot 9, bv. 39.50."),
    ({"minimum": "6.245"}, "minimum", "Hoogstens twee cijfers na het decimaalteken."),
    ({"part_day_below_hours": "4.75"}, "part_day_below_hours", "Hoogstens één cijfer na het decimaalteken."),
    ({"maximum": "1000000"}, "maximum", "Dat getal is te groot."),
])
def test_tariff_figures_out_of_order_are_refused_with_nothing_written(admin, changes, field, message):
    before = db.session.scalar(sa.text("SELECT count(*) FROM shared.income_tariffs"))
    response = admin["client"].post("/beheer/regio/inkomens/tarief/nieuw", data=_tariff_form(**changes),
                                    base_url=host_url())
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in page
    assert db.session.scalar(sa.text("SELECT count(*) FROM shared.income_tariffs")) == before
    assert region_audit("income_tariff.add") == []


def test_a_year_taken_is_refused(admin):
    assert admin["client"].post("/beheer/regio/inkomens/tarief/nieuw", data=_tariff_form(),
                                base_url=host_url()).status_code == 302
    again = admin["client"].post("/beheer/regio/inkomens/tarief/nieuw", data=_tariff_form(minimum="6.00"),
                                 base_url=host_url())
    assert again.status_code == 422
    assert 'id="year-error">Voor 2027 bestaan al gegevens; pas die aan.' in html.unescape(again.get_data(as_text=True))
    assert tariffs.tariff_for(db.session, 2027).minimum == D("6.50")


def test_a_past_year_is_never_edited(admin):
    seeded = tariffs.tariff_for(db.session, 2024)
    for method in ("get", "post"):
        response = getattr(admin["client"], method)(f"/beheer/regio/inkomens/tarief/{seeded.id}",
                                                    data=_tariff_form(year="2024"), base_url=host_url())
        assert response.status_code == 303
    db.session.refresh(seeded)
    assert seeded.minimum == D("6.24") and seeded.seeded
    threshold = tariffs.threshold_for(db.session, 2024)
    response = admin["client"].post(f"/beheer/regio/inkomens/grens/{threshold.id}",
                                    data={"year": "2024", "amount": "1", "source": "x"}, base_url=host_url())
    assert response.status_code == 303
    db.session.refresh(threshold)
    assert threshold.amount == D("30000.00")


def test_the_admin_keeps_the_low_income_threshold(admin, draft):
    client = admin["client"]
    response = client.post("/beheer/regio/inkomens/grens/nieuw",
                           data={"year": "2027", "amount": "31500.00", "source": "Besluit van 1 januari 2027"},
                           base_url=host_url())
    assert response.status_code == 302
    row = tariffs.threshold_for(db.session, 2027)
    assert row.amount == D("31500.00") and not row.seeded
    assert region_audit("income_threshold.add")[0].detail["figures"]["amount"] == [None, "31500.00"]
    for data, field, message in (
            ({"year": "2027", "amount": "40000", "source": "x"}, "year", "Voor 2027 bestaan al gegevens"),
            ({"year": "2028", "amount": "-1", "source": "x"}, "amount", "De grens moet groter zijn dan 0."),
            ({"year": "2028", "amount": "abc", "source": "x"}, "amount", "Vul een getal in met de cijfers"),
            ({"year": "2028", "amount": "30000", "source": ""}, "source", "Vermeld de bron van de cijfers.")):
        refused = client.post("/beheer/regio/inkomens/grens/nieuw", data=data, base_url=host_url())
        assert refused.status_code == 422
        assert f'id="{field}-error">{message}' in html.unescape(refused.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LowIncomeThreshold)) == 2
    # the family form of a request starting in 2027 names the new threshold
    draft["care"].start_date = date(2027, 5, 1)
    db.session.flush()
    family = client.application.test_client()
    login(family, draft["parent"])
    page = _text(family.get(f"/aanvragen/{draft['care'].id}/gezin", base_url=host_url()))
    assert "De grens voor 2027: een gezamenlijk belastbaar inkomen van € 31.500,00 per jaar." in page


ADMIN_ROUTES = [("get", "/beheer/regio/inkomens"), ("get", "/beheer/regio/inkomens/tarief/nieuw"),
                ("post", "/beheer/regio/inkomens/tarief/nieuw"), ("get", "/beheer/regio/inkomens/grens/nieuw"),
                ("post", "/beheer/regio/inkomens/grens/nieuw")]


@pytest.mark.parametrize("role", ["parent", "coordinator", "provider_staff", "referrer"])
def test_a_non_administrator_is_refused_on_every_tariff_route(app, make_user, make_tenant, role):
    tenant = make_tenant("herent")
    user = make_user(*([role] if role != "parent" else []), tenant=tenant if role in ("coordinator",
                                                                                    "provider_staff") else None,
                     organisation="OCMW" if role == "referrer" else None)
    client = app.test_client()
    login(client, user)
    row = tariffs.tariff_for(db.session, 2024)
    threshold = tariffs.threshold_for(db.session, 2024)
    routes = ADMIN_ROUTES + [(m, f"/beheer/regio/inkomens/tarief/{row.id}") for m in ("get", "post")] + [
        (m, f"/beheer/regio/inkomens/grens/{threshold.id}") for m in ("get", "post")]
    for method, path in routes:
        response = getattr(client, method)(path, data=_tariff_form(), base_url=host_url())
        assert response.status_code == 403, (role, method, path)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IncomeTariff)) == 1
    anonymous = app.test_client().get("/beheer/regio/inkomens", base_url=host_url())
    assert anonymous.status_code == 302 and "/aanmelden" in anonymous.headers["Location"]


def test_the_tariff_pages_are_not_on_a_municipal_host(admin):
    tenant = admin["tenants"][0]
    assert admin["client"].get("/beheer/regio/inkomens", base_url=host_url(tenant)).status_code == 404
