"""The open-data API (/api/v1): the search page's answers as JSON, pages, one location, the
municipalities, ETags and CORS, no personal data, and the API against its own OpenAPI document."""

from __future__ import annotations

import contextvars
import json
import re
import uuid
from datetime import date, time, timedelta
from decimal import Decimal

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from regional_loket.catalog import search
from regional_loket.catalog.models import Location
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy import services as tenancy_services
from regional_loket.tenancy import tenant_scope
from regional_loket.tenancy.models import Postcode

from .conftest import REGION, host_url

TODAY = date.today()
THIS_MONTH = month_start(TODAY)
NEXT_MONTH = add_months(THIS_MONTH, 1)
LAST_MONTH = add_months(THIS_MONTH, -1)
API = host_url()  # the API answers on the regional host (and on every portal)
DESK = {"name": "Loket Herent", "address": "Wilgenhof 20, 3020 Herent", "phone": "016 85 30 00",
        "email": "kinderopvang@herent.be", "hours": "ma–vr 9–12 u."}


@pytest.fixture
def region(make_tenant, make_location):
    herent, leuven, opwijk = (make_tenant("herent", name="Herent", desk=DESK), make_tenant("leuven", name="Leuven"),
                              make_tenant("opwijk", name="Opwijk"))
    gone = make_tenant("oudegem", name="Oudegem")
    for tenant, code, locality, lat, lon in ((herent, "3020", "Herent", 50.9085, 4.6715),
                                             (leuven, "3000", "Leuven", 50.8798, 4.7005),
                                             (opwijk, "1745", "Opwijk", 50.9703, 4.1875),
                                             (gone, "9200", "Oudegem", 51.0136, 4.0622)):
        tenant.postcodes.append(Postcode(code=code, locality=locality, lat=lat, lon=lon))
    L = {  # noqa: N806
        "H1": make_location(herent, "Kinderdagverblijf De Zonnebloem", languages=["nl", "fr"],
                            description={"nl": "Warm.", "fr": "Chaleureux.", "en": "Warm."},
                            phone="+32 16 11 22 33", email="info@zonnebloem.example",
                            free={(NEXT_MONTH, "baby"): 2, (THIS_MONTH, "toddler"): 0, (LAST_MONTH, "baby"): 3}),
        "H2": make_location(herent, "Onthaalouder Els Janssens", kind="family", opens_at=time(7, 30),
                            tariff="free", day_price=Decimal("33.75")),
        "H3": make_location(herent, "IBO De Speelvogel", kind="out_of_school", min_age_months=30,
                            max_age_months=144, closes_at=time(18, 30), free={(NEXT_MONTH, "school"): 10}),
        "H4": make_location(herent, "Kinderdagverblijf Gesloten", active=False),
        "L1": make_location(leuven, "Crèche Les Petits Pas", postcode="3000", locality="Leuven", lat=50.8798,
                            lon=4.7005, opens_at=time(6, 30), closes_at=time(18, 30), tariff="free",
                            day_price=Decimal("42.00"), languages=["fr", "en"], special_care=True,
                            free={(NEXT_MONTH, "toddler"): 1}),
        "L2": make_location(leuven, "Kinderdagverblijf Het Nestje", postcode="3000", locality="Leuven",
                            lat=50.8790, lon=4.7010, accepts_online=False),
        "O1": make_location(opwijk, "Kinderdagverblijf Madeliefje", postcode="1745", locality="Opwijk",
                            lat=50.9703, lon=4.1875),
        "A1": make_location(gone, "Kinderdagverblijf Archief", postcode="9200", locality="Oudegem",
                            lat=51.0136, lon=4.0622),
    }
    db.session.flush()
    tenancy_services.archive_tenant(db.session, "oudegem")
    db.session.flush()
    return {"tenants": {"herent": herent, "leuven": leuven, "opwijk": opwijk, "oudegem": gone}, "locations": L}


def get(client, path, **args):
    return client.get(f"/api/v1{path}", query_string=args, base_url=API)


def ids(region, *names):
    return {str(region["locations"][name].id) for name in names}


def api_ids(client, **args):
    response = get(client, "/locations", per_page="100", **args)
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["total"] == len(payload["items"])
    return {item["id"] for item in payload["items"]}


def page_ids(client, **args):
    """Locations the search page lists (its links to /locatie/<id> on the regional portal)."""
    response = client.get("/zoeken", query_string=args, base_url=API)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'role="alert"' not in body  # no problem with the arguments
    return set(re.findall(r'href="/locatie/([0-9a-f-]{36})[?"]', body))  # "?zoek=…": the search travels along


SIX_MONTHS_OLD = add_months(THIS_MONTH, -6).isoformat()


@pytest.mark.parametrize(("args", "expected"), [
    ({}, ["H1", "H2", "H3", "L1", "L2", "O1"]),
    ({"q": "creche"}, ["L1"]),
    ({"q": "KINDERDAGVERBLIJF"}, ["H1", "L2", "O1"]),
    ({"gemeente": "herent,opwijk"}, ["H1", "H2", "H3", "O1"]),
    ({"gemeente": "herent", "nabij": "1"}, ["H1", "H2", "H3", "L1", "L2"]),  # Leuven is near, Opwijk is not
    ({"gemeente": ["herent", "leuven"], "type": ["group", "family"]}, ["H1", "H2", "L1", "L2"]),
    ({"postcode": "3020", "afstand": "5"}, ["H1", "H2", "H3", "L1", "L2"]),
    ({"lat": "50.9703", "lon": "4.1875", "afstand": "2"}, ["O1"]),
    ({"maand": NEXT_MONTH.strftime("%Y-%m")}, ["H1", "H3", "L1"]),
    ({"maand": NEXT_MONTH.strftime("%Y-%m"), "geboortedatum": SIX_MONTHS_OLD}, ["H1"]),
    ({"geboortedatum": add_months(THIS_MONTH, -40).isoformat()}, ["H3"]),
    ({"ikt": "1", "open_voor": "07:00"}, ["H1", "H3", "L2", "O1"]),
    ({"maxprijs": "35", "taal": "fr"}, ["H1"]),
    ({"maxprijs": "1e-999999"}, ["H1", "H3", "L2", "O1"]),  # below a cent: income-related tariffs only
    ({"open_na": "18:30", "sorteer": "name"}, ["H3", "L1"]),
    ({"zorg": "1"}, ["L1"]),
    ({"online": "1", "gemeente": "leuven"}, ["L1"]),
    ({"q": "nergens"}, []),
])
def test_filters_give_the_same_locations_as_the_search_page(client, region, args, expected):
    assert api_ids(client, **args) == ids(region, *expected)
    assert page_ids(client, **args) == ids(region, *expected)


def test_items_describe_the_location_and_its_place_in_the_region(client, region):
    items = {i["id"]: i for i in get(client, "/locations", postcode="3000", maand=NEXT_MONTH.strftime("%Y-%m"))
             .get_json()["items"]}
    l1 = items[str(region["locations"]["L1"].id)]
    assert l1 == {
        "id": str(region["locations"]["L1"].id), "name": "Crèche Les Petits Pas", "organiser": "vzw Test",
        "type": "group", "address": {"street": "Kerkstraat", "number": "1", "postcode": "3000", "locality": "Leuven"},
        "municipality": "leuven", "coordinates": {"lat": 50.8798, "lon": 4.7005}, "licensed_places": 18,
        "age_months": {"min": 0, "max": 36}, "hours": {"opens": "06:30", "closes": "18:30"},
        "languages": ["fr", "en"], "tariff": "free", "day_price": 42.0, "special_care": True,
        "accepts_online_requests": True, "url": f"http://leuven.{REGION}/locaties/{l1['id']}",
        "free_places_this_month": 1, "distance_km": 0.0,
    }
    assert items[str(region["locations"]["H3"].id)]["free_places_this_month"] == 10


def test_facets_count_per_municipality_and_type(client, region):
    facets = get(client, "/locations", type="group", gemeente="herent").get_json()["facets"]
    assert facets == {"municipality": {"herent": 1, "leuven": 2, "opwijk": 1},
                      "type": {"group": 1, "family": 1, "out_of_school": 1}}


# --- pages -----------------------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_overlap(client, region):
    seen = []
    for number in (1, 2, 3):
        payload = get(client, "/locations", sorteer="name", per_page="2", pagina=str(number)).get_json()
        assert (payload["total"], payload["pages"], payload["page"], payload["per_page"]) == (6, 3, number, 2)
        seen += [item["id"] for item in payload["items"]]
    by_id = {str(loc.id): key for key, loc in region["locations"].items()}
    assert [by_id[i] for i in seen] == ["L1", "H3", "H1", "L2", "O1", "H2"]
    assert get(client, "/locations").get_json()["per_page"] == search.PER_PAGE


@pytest.mark.parametrize(("args", "field", "says"), [
    ({"per_page": "2", "pagina": "4"}, "pagina", "there are 3 pages"),
    ({"pagina": "2"}, "pagina", "there are 1 pages"),
    ({"pagina": "0"}, "pagina", "pagina bestaat niet"),
    ({"pagina": "abc"}, "pagina", "pagina bestaat niet"),
    ({"pagina": "²"}, "pagina", "pagina bestaat niet"),
    ({"per_page": "0"}, "per_page", "1 to 100"),
    ({"per_page": "101"}, "per_page", "1 to 100"),
    ({"per_page": "veel"}, "per_page", "1 to 100"),
    ({"per_page": "9" * 5000}, "per_page", "1 to 100"),
    ({"postcode": "30a0", "type": "zwembad"}, "type", "type opvang"),
    ({"maxprijs": "1e999999"}, "maxprijs", "dagprijs"),
])
def test_bad_arguments_are_a_problem_with_errors_per_field(client, region, args, field, says):
    response = get(client, "/locations", **args)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" not in response.headers
    problem = response.get_json(force=True)
    assert problem["status"] == 400 and problem["title"] == "Invalid request"
    assert says in problem["errors"][field]


def test_an_empty_result_is_one_empty_page(client, region):
    payload = get(client, "/locations", q="nergens").get_json()
    assert (payload["total"], payload["pages"], payload["page"], payload["items"]) == (0, 1, 1, [])


# --- one location ----------------------------------------------------------------------------


def test_one_location_with_its_free_places_from_this_month_on(client, region):
    h1 = region["locations"]["H1"]
    response = get(client, f"/locations/{h1.id}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["name"] == "Kinderdagverblijf De Zonnebloem" and body["municipality"] == "herent"
    assert body["url"] == f"http://herent.{REGION}/locaties/{h1.id}"
    assert body["description"] == {"nl": "Warm.", "fr": "Chaleureux.", "en": "Warm."}
    assert body["free_places"] == [  # last month's row is history, not an offer
        {"month": THIS_MONTH.strftime("%Y-%m"), "age_group": "toddler", "free_places": 0},
        {"month": NEXT_MONTH.strftime("%Y-%m"), "age_group": "baby", "free_places": 2},
    ]


@pytest.mark.parametrize("which", ["unknown", "not-a-uuid", "inactive", "archived municipality"])
def test_a_location_that_is_not_on_offer_is_not_found(client, region, which):
    key = {"unknown": str(uuid.uuid4()), "not-a-uuid": "zonnebloem",
           "inactive": str(region["locations"]["H4"].id),
           "archived municipality": str(region["locations"]["A1"].id)}[which]
    response = get(client, f"/locations/{key}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json(force=True) == {"status": 404, "title": "Not found"}


def test_an_archived_municipality_is_nowhere_in_the_api(client, region):
    assert str(region["locations"]["A1"].id) not in api_ids(client)
    assert get(client, "/locations", gemeente="oudegem").status_code == 400  # not a municipality any more
    assert "oudegem" not in get(client, "/municipalities").get_data(as_text=True)


# --- municipalities --------------------------------------------------------------------------


def test_municipalities(client, region):
    response = get(client, "/municipalities")
    assert response.status_code == 200
    items = {m["slug"]: m for m in response.get_json()["items"]}
    assert set(items) == {"herent", "leuven", "opwijk"}
    herent = items["herent"]
    assert herent["name"] == "Herent" and herent["nis_code"] == region["tenants"]["herent"].nis_code
    assert herent["portal"] == f"http://herent.{REGION}/"
    assert herent["postcodes"] == [{"code": "3020", "locality": "Herent", "lat": 50.9085, "lon": 4.6715}]
    assert herent["desk"] == DESK
    assert items["leuven"]["desk"] == {}


# --- caching and CORS ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/locations?gemeente=herent", "/locations/{H1}", "/municipalities", "/openapi.json"])
def test_etag_and_if_none_match(client, region, path):
    url = "/api/v1" + path.format(H1=region["locations"]["H1"].id)
    first = client.get(url, base_url=API)
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.cache_control.public and first.cache_control.max_age == 60
    etag = first.headers["ETag"]
    again = client.get(url, base_url=API, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["Access-Control-Allow-Origin"] == "*"
    other = client.get(url, base_url=API, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()


def test_the_etag_changes_with_the_data(client, region):
    url = "/api/v1/locations?gemeente=herent"
    etag = client.get(url, base_url=API).headers["ETag"]
    with tenant_scope(db.session, region["tenants"]["herent"]):
        db.session.get(Location, region["locations"]["H2"].id).opens_at = time(6, 45)
    db.session.flush()
    changed = client.get(url, base_url=API, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "06:45" in changed.get_data(as_text=True)


def test_the_api_answers_on_a_municipal_portal_too(client, region):
    response = client.get("/api/v1/locations", base_url=host_url(region["tenants"]["herent"]))
    assert response.status_code == 200 and response.get_json()["total"] == 6  # the whole region


# --- no personal data ------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"(?:\+32|\b0)[\d ./]{7,}\d")


def test_no_personal_data_anywhere(client, region, make_user):
    herent = region["tenants"]["herent"]
    h1 = region["locations"]["H1"]
    people = [
        make_user("coordinator", tenant=herent, email="coordinator.geheim@example.be", name="Griet Geheim"),
        make_user("provider_staff", tenant=herent, locations=[h1.id], email="staff.geheim@example.be",
                  name="Sofie Stil"),
        make_user("parent", email="ouder.geheim@example.be", name="Olaf Ouder"),
    ]
    bodies = [get(client, "/locations", per_page="100").get_data(as_text=True),
              get(client, "/municipalities").get_data(as_text=True),
              get(client, "/openapi.json").get_data(as_text=True)]
    bodies += [get(client, f"/locations/{loc.id}").get_data(as_text=True)
               for key, loc in region["locations"].items() if key not in ("H4", "A1")]
    text = "\n".join(bodies)
    for person in people:
        assert person.email not in text and person.name not in text
        assert str(person.id) not in text
    # The only addresses and numbers are the municipal desk's (and a location's own, if shown).
    allowed_emails = {DESK["email"], h1.email}
    assert {m.group(0) for m in EMAIL.finditer(text)} <= allowed_emails
    allowed_phones = {DESK["phone"], h1.phone}
    assert {m.group(0).strip() for m in PHONE.finditer(text)} <= allowed_phones
    # Nor any field that could hold one, except the desk's own contact.
    keys = set()
    for body in bodies[:2] + bodies[3:]:
        keys |= set(_keys(json.loads(body)))
    assert not {k for k in keys if k.split("/")[-1] in PERSONAL_FIELDS and k.split("/")[-2:-1] != ["desk"]}, keys


PERSONAL_FIELDS = {"email", "phone", "name_of_contact", "user", "users", "user_id", "members", "staff",
                   "password", "birth_date", "first_name", "last_name", "guardians", "children", "rrn"}


def _keys(value, path=""):
    """Every object key in a JSON document, as slash-joined paths without array indexes."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield f"{path}{key}"
            yield from _keys(inner, f"{path}{key}/")
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner, path)


# --- the API against its own OpenAPI document (schemathesis) --------------------------------


@pytest.fixture
def api_schema(app, region):
    """The document as the API serves it, on the regional host, with the region's data behind it.

    Loaded in a context of its own, as IsolatedClient does: in the test's context the request
    would share the test's session, and the end of the request would close it (rolling the
    region back)."""
    return contextvars.Context().run(schemathesis.openapi.from_wsgi, "/api/v1/openapi.json", app, base_url=API)


def _within_dependencies(case):
    """A positive case made to keep the rules that span two parameters (the document says them in
    words; JSON Schema cannot for query parameters), by leaving the second one out: lat and lon
    go together, afstand needs a point, start is not before geboortedatum, and a page past the
    last is a problem (how many there are depends on the data). Each is tested on its own below."""
    query = case.query or {}
    given = {name for name, value in query.items() if value not in ("", None)}  # empty counts as absent
    if ("lat" in given) != ("lon" in given):
        query.pop("lat", None), query.pop("lon", None)
        given -= {"lat", "lon"}
    if "afstand" in given and not ({"lat", "lon"} <= given or "postcode" in given):
        query.pop("afstand")
    if {"start", "geboortedatum"} <= given and str(query["start"]) < str(query["geboortedatum"]):
        query.pop("start")
    query.pop("pagina", None)
    return case


# schemathesis.pytest.from_fixture(...).parametrize() does not run under pytest 9.2 (it sets
# request.node._nodeid, which pytest renamed), so each operation's strategy is driven here with
# Hypothesis directly: the same cases and checks, and the rollback fixtures still apply. Every
# check runs, positive_data_acceptance and negative_data_rejection too: what the document admits
# is answered, what it does not is refused.
@pytest.mark.parametrize(("path", "mode"), [
    ("/locations", GenerationMode.POSITIVE), ("/locations", GenerationMode.NEGATIVE),
    ("/locations/{id}", GenerationMode.POSITIVE),  # any string is an id: there is nothing to negate
    ("/municipalities", GenerationMode.POSITIVE),
])
def test_the_api_keeps_its_openapi_document(client, region, api_schema, path, mode):
    operation = api_schema[path]["GET"]
    cases = operation.as_strategy(generation_mode=mode)
    if path == "/locations" and mode is GenerationMode.POSITIVE:
        cases = cases.map(_within_dependencies)
    if path == "/locations/{id}" and mode is GenerationMode.POSITIVE:  # real ones too, not only 404s
        cases = st.one_of(cases, *(operation.as_strategy(path_parameters={"id": str(loc.id)})
                                   for loc in region["locations"].values()))

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def check(case):
        case.call_and_validate(session=client, base_url=f"{API}/api/v1")

    check()


def test_the_document_describes_itself(client, region):
    document = json.loads(get(client, "/openapi.json").get_data(as_text=True))
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": f"{API}/api/v1"}]
    assert set(document["paths"]) == {"/locations", "/locations/{id}", "/municipalities"}
    names = {p["name"] for p in document["paths"]["/locations"]["get"]["parameters"]}
    assert names == {"q", "gemeente", "nabij", "postcode", "lat", "lon", "afstand", "type", "geboortedatum", "start",
                     "maand", "ikt", "maxprijs", "open_voor", "open_na", "taal", "zorg", "online", "sorteer",
                     "pagina", "per_page"}


def test_routing_errors_under_the_api_are_problem_json(client):
    missing = client.get("/api/v1/nope", base_url=host_url())
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    wrong = client.post("/api/v1/locations", base_url=host_url())
    assert wrong.status_code == 405 and wrong.json["status"] == 405 and "GET" in wrong.headers["Allow"]


# --- each parameter's refusal boundary is the document's --------------------------------------

COMPANIONS = {"lat": {"lon": "4.7"}, "lon": {"lat": "50.9"}, "afstand": {"postcode": "3020"}}


def _edges(name, schema):
    """Values on both sides of each limit the schema sets."""
    if schema.get("type") == "array":
        yield from _edges(name, schema["items"])
    elif schema.get("type") in ("number", "integer"):
        step = 1 if schema["type"] == "integer" else 0.001
        for bound in (schema.get("minimum"), schema.get("exclusiveMinimum"), schema.get("maximum")):
            if bound is not None:
                yield from (str(bound - step), str(bound), str(bound + step))
        yield from ("een", "nan", "Infinity", "1,5", "٣")
    elif "enum" in schema:
        yield from (schema["enum"][0], schema["enum"][-1], schema["enum"][-1] + "x", schema["enum"][0].upper() + "!")
    elif schema.get("format") == "date":
        first, last = {"geboortedatum": (date(TODAY.year - 13, TODAY.month, 1), add_months(TODAY, 10)),
                       "start": (date(TODAY.year - 1, 1, 1), add_months(TODAY, 36))}[name]
        for day in (first - timedelta(days=1), first, last, last + timedelta(days=1)):
            yield day.isoformat()
        yield from ("2026-02-30", "20260901", "2026-9-1")
    elif name in ("open_voor", "open_na"):
        yield from ("00:00", "23:59", "24:00", "23:60", "7:00", "07:00:00")
    else:  # q
        yield from ("a" * schema["maxLength"], "a" * (schema["maxLength"] + 1))


def _admits(schema, value) -> bool:
    """schemathesis' own reading of the schema (jsonschema-rs), formats included."""
    if schema.get("type") == "array":
        schema = schema["items"]
    if schema.get("type") in ("number", "integer"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True).is_valid(value)


def test_each_parameter_is_refused_exactly_where_the_document_says(client, region):
    document = get(client, "/openapi.json").get_json()
    checked = 0
    for parameter in document["paths"]["/locations"]["get"]["parameters"]:
        name, schema = parameter["name"], parameter["schema"]
        for value in _edges(name, schema):
            response = get(client, "/locations", **{name: value, **COMPANIONS.get(name, {})})
            errors = (response.get_json(force=True) or {}).get("errors", {})
            if _admits(schema, value):
                if name == "pagina" and response.status_code == 400:  # valid, but past the last page
                    assert set(errors) == {"pagina"} and errors["pagina"].startswith("there are"), value
                else:
                    assert response.status_code == 200, (name, value, errors)
            else:
                assert response.status_code == 400 and name in errors, (name, value, response.status_code)
            checked += 1
    assert checked > 100


@pytest.mark.parametrize(("args", "field"), [
    ({"lat": "50.9"}, "punt"), ({"lon": "4.7"}, "punt"), ({"afstand": "5"}, "afstand"),
    ({"geboortedatum": THIS_MONTH.isoformat(), "start": LAST_MONTH.isoformat()}, "start"),
])
def test_the_rules_across_two_parameters_are_problems_as_the_document_says(client, region, args, field):
    response = get(client, "/locations", **args)
    assert response.status_code == 400 and field in response.get_json(force=True)["errors"]
