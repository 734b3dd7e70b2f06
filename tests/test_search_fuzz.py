"""Whatever arrives in the query string, search answers with a page (problems as messages) and
the API with 200 or a 400 problem, never a server error.

The test client propagates exceptions (TESTING), so a server error raises inside the test and
Hypothesis shrinks it to the smallest query string that breaks."""

from __future__ import annotations

import json
import re
from datetime import date, time
from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from regional_loket.catalog import search
from regional_loket.extensions import db
from regional_loket.months import add_months, month_start
from regional_loket.tenancy.models import Postcode
from regional_loket.web.input import has_control_characters

from .conftest import host_url

TODAY = date.today()
NEXT_MONTH = add_months(month_start(TODAY), 1)

SEARCH_ARGS = ("q", "gemeente", "nabij", "postcode", "lat", "lon", "afstand", "type", "geboortedatum", "start",
               "maand", "ikt", "maxprijs", "open_voor", "open_na", "taal", "zorg", "online", "sorteer", "pagina",
               "per_page")
# Flask's url_for takes these as its own keywords: the search page's links pass the query on
# through url_for, see test_url_for_keywords_in_the_query_string below.
URL_FOR_KEYWORDS = {"endpoint", "_anchor", "_method", "_scheme", "_external"}

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def region(make_tenant, make_location):
    """Two neighbouring municipalities with a few locations, free places next month."""
    herent, leuven = make_tenant("herent", name="Herent"), make_tenant("leuven", name="Leuven")
    herent.postcodes.append(Postcode(code="3020", locality="Herent", lat=50.9085, lon=4.6715))
    leuven.postcodes.append(Postcode(code="3000", locality="Leuven", lat=50.8798, lon=4.7005))
    make_location(herent, "Kinderdagverblijf De Zonnebloem", languages=["nl", "fr"],
                  free={(NEXT_MONTH, "baby"): 2})
    make_location(herent, "Onthaalouder Els Janssens", kind="family", tariff="free", day_price=Decimal("33.75"),
                  opens_at=time(7, 30))
    make_location(herent, "IBO De Speelvogel", kind="out_of_school", min_age_months=30, max_age_months=144,
                  free={(NEXT_MONTH, "school"): 10})
    make_location(leuven, "Crèche Les Petits Pas", postcode="3000", locality="Leuven", lat=50.8798, lon=4.7005,
                  languages=["fr", "en"], special_care=True, free={(NEXT_MONTH, "toddler"): 1})
    db.session.flush()
    return {"herent": herent, "leuven": leuven}


# --- what a query string can hold -----------------------------------------------------------

_digits = st.integers(min_value=-(10**30), max_value=10**30).map(str)
_floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
_near_valid = st.sampled_from([
    "", " ", "1", "0", "-1", "on", "true", "herent", "leuven", "herent,leuven", " herent , atlantis ", "atlantis",
    "3020", "3000", "1000", "0999", "30200", "1٣٣٣", "50.9", "4.67", "-50.9085", "-175.3285", "90", "-180",
    "5", "5,5", "100", "100.0001", "1e-999999", "1e999999", "NaN", "-0", "Infinity", "sNaN", "0.001", "199.999",
    "group", "family", "out_of_school", "group,zwembad", "nl", "fr,en", "xx", "relevance", "distance", "free",
    "name", "random", "²", "١", "9" * 5000, "2024-02-30", "2026-W01-1", "20260101", "٢٠٢٦-٠١-٠١", "07:00",
    "07:00+05:00", "24:00", "07:00:00.5-12:00", "T07", "25:99", "\x00", "a\x00b", "%00", "'; DROP TABLE x; --",
    "<script>alert(1)</script>", "crèche", "ÉCOLE", "🧸", "x" * 201, "zonnebl", "speelvogel herent",
    NEXT_MONTH.strftime("%Y-%m"), TODAY.isoformat(), add_months(TODAY, -8).isoformat(),
    add_months(TODAY, 11).isoformat(), "0000-00", "9999-12", "1900-01-01",
])
_dates = st.dates().map(date.isoformat)
_months = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 1)).map(lambda d: d.strftime("%Y-%m"))
_times = st.times().map(time.isoformat)
_values = st.one_of(_near_valid, st.text(max_size=40), _digits, _floats, _dates, _months, _times,
                    st.binary(max_size=12))  # bytes: invalid UTF-8 once percent-encoded
_unknown_names = st.text(max_size=12).filter(lambda name: name not in URL_FOR_KEYWORDS)
_names = st.one_of(st.sampled_from(SEARCH_ARGS), st.sampled_from(SEARCH_ARGS), _unknown_names)
query_strings = st.lists(st.tuples(_names, _values), max_size=10).map(
    lambda pairs: urlencode(pairs, quote_via=quote))


def _page_problems(response, tenant):
    """What parse() makes of the arguments the page really received (werkzeug's decoding)."""
    default = (tenant.slug,) if tenant is not None else ()
    return search.parse(response.request.args, session=db.session, today=TODAY, default_municipalities=default)[1]


def _refused_as_bad_input(response) -> bool:
    """Control characters (NUL and the like) are refused before any view runs (web/input.py)."""
    args = response.request.args
    return has_control_characters([*args.keys(), *args.values()])


def _check_page(client, query_string, tenant):
    response = client.get(f"/zoeken?{query_string}", base_url=host_url(tenant))
    if _refused_as_bad_input(response):
        assert response.status_code == 400
        assert "Wat u verstuurde bevat ongeldige tekens" in response.get_data(as_text=True)
        return
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert 'id="results-heading"' in body
    problems = _page_problems(response, tenant)
    assert ('role="alert"' in body) == bool(problems)
    for name, message in problems.items():
        assert str(escape(str(message))) in body, name


HOSTILE = "q=a%00b&gemeente=%00&pagina=%C2%B2&maxprijs=1e-999999&open_voor=07:00%2B05:00&postcode=1%D9%A3%D9%A3%D9%A3"


@FUZZ
@given(query_string=query_strings)
@example(query_string=HOSTILE)
@example(query_string="pagina=" + "9" * 5000 + "&maxprijs=0." + "0" * 20000 + "1")
@example(query_string="q=%FF%FE&gemeente=herent&gemeente=leuven&nabij=1&lat=-50.9085&lon=-175.3285")
def test_search_page_on_the_regional_portal(client, region, query_string):
    _check_page(client, query_string, None)


@FUZZ
@given(query_string=query_strings)
@example(query_string=HOSTILE)
@example(query_string="nabij=1&maand=" + NEXT_MONTH.strftime("%Y-%m") + "&sorteer=free")
def test_search_page_on_a_municipal_portal(client, region, query_string):
    _check_page(client, query_string, region["herent"])


@settings(FUZZ, max_examples=300)
@given(query_string=query_strings)
@example(query_string=HOSTILE)
@example(query_string="per_page=" + "9" * 5000)
@example(query_string="per_page=%C2%B2&pagina=%D9%A1")
def test_api_answers_200_or_a_problem(client, region, query_string):
    response = client.get(f"/api/v1/locations?{query_string}", base_url=host_url())
    assert response.status_code in (200, 400)
    event(f"status {response.status_code}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    payload = json.loads(response.get_data(as_text=True))
    if response.status_code == 400:
        assert response.mimetype == "application/problem+json"
        if _refused_as_bad_input(response):
            assert payload["status"] == 400 and payload["detail"]
            return
        assert payload["status"] == 400 and payload["errors"]
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in payload["errors"].items())
        return
    assert response.mimetype == "application/json"
    assert 1 <= payload["page"] <= payload["pages"] and len(payload["items"]) <= payload["per_page"]
    # A 200 means the arguments held no problem at all.
    assert _page_problems(response, None) == {}


def test_parse_never_raises_on_the_hostile_examples(app, region):
    """The crashes these tests found, pinned: a page number int() refuses and a price PostgreSQL's
    numeric cannot hold are a message now; a price below a cent is a price in whole cents."""
    from werkzeug.datastructures import MultiDict

    for args, field in (({"pagina": "²"}, "pagina"), ({"pagina": "9" * 5000}, "pagina"),
                        ({"maxprijs": "1e999999"}, "maxprijs"), ({"maxprijs": "NaN"}, "maxprijs")):
        query, problems = search.parse(MultiDict(args), session=db.session, today=TODAY)
        assert list(problems) == [field]
        search.run(db.session, query, today=TODAY)  # and the rest still runs
    query, problems = search.parse(MultiDict({"maxprijs": "1e-999999"}), session=db.session, today=TODAY)
    assert problems == {} and query.max_price == Decimal("0.00")
    assert {row["tariff"] for row in search.run(db.session, query, today=TODAY).rows} == {"income"}


@pytest.mark.parametrize("tenant", [None, "herent"])
def test_the_visitors_own_text_in_a_message_is_escaped(client, region, tenant):
    """Found by the fuzzer: the unknown-municipality message repeats what was typed, and as a
    lazy string it counted as safe HTML, so ?gemeente=<b>x</b> wrote markup into the page."""
    response = client.get("/zoeken", query_string={"gemeente": ["herent", "<b>x</b>"]},
                          base_url=host_url(region[tenant] if tenant else None))
    body = response.get_data(as_text=True)
    assert "<b>x</b>" not in body
    assert "Deze gemeente kennen we niet: &lt;b&gt;x&lt;/b&gt;." in body
    problem = client.get("/api/v1/locations", query_string={"gemeente": "<b>x</b>"}, base_url=host_url())
    assert problem.get_json(force=True)["errors"]["gemeente"] == "Deze gemeente kennen we niet: <b>x</b>."  # JSON: as is


@pytest.mark.parametrize(("name", "value"), [
    ("onbekend", "x"),  # an unknown argument is simply carried along
    ("endpoint", "x"), ("_method", "POST"), ("_anchor", "x"), ("_external", "1"), ("_scheme", "javascript"),
])
def test_url_for_keywords_in_the_query_string(client, region, name, value):
    response = client.get("/zoeken", query_string={name: value}, base_url=host_url())
    assert response.status_code == 200
    hrefs = re.findall(r'href="([^"]*)"', response.get_data(as_text=True))
    facet_links = [h for h in hrefs if re.match(r"([a-z]+://[^/]*)?/zoeken\?", h)]
    assert facet_links
    assert all(h.startswith("/zoeken?") and "#" not in h for h in facet_links), facet_links
