"""The OpenAPI 3.1 description of the open-data API (tested against the API with schemathesis)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..months import add_months, month_start
from ..tenancy import Postcode
from ..vocabulary import Kind
from ..web.input import CONTROL_CHARACTERS
from .search import (
    LANGUAGE_CODES,
    MAX_DISTANCE_KM,
    MAX_QUERY,
    NEARBY_KM,
    SORTS,
    iso_date,
)

# The document is the contract: the API refuses (400) every value it does not admit, with the
# same rules (``refusals``), and admits only what the search can answer. Which municipalities,
# postcodes, months and dates are valid depends on the region and on today, so the document is
# built per request. Three rules span two parameters and JSON Schema cannot say them for query
# parameters; their descriptions say them, and the API answers 400 naming the parameter.
_ANY_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_HOUR = "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
# Every request with a control character is refused before any view (web.input).
_NO_CONTROL = f"^[^{CONTROL_CHARACTERS.pattern.removeprefix('[').removesuffix(']')}]*$"


def _months_pattern(first: date, last: date) -> str:
    """An alternation of the months from ``first`` to ``last`` (both firsts of a month), per year."""
    by_year: dict[int, list[int]] = {}
    month = first
    while month <= last:
        by_year.setdefault(month.year, []).append(month.month)
        month = add_months(month, 1)
    return "|".join(f"{year}-(?:0[1-9]|1[0-2])" if len(months) == 12 else f"{year}-(?:{'|'.join(f'{m:02d}' for m in months)})"
                    for year, months in by_year.items())


def _date_range(first: date, last: date) -> dict:
    """The dates from ``first`` to ``last`` inclusive, both the first of a month."""
    return {"type": "string", "format": "date",
            "pattern": f"^(?:(?:{_months_pattern(first, add_months(last, -1))})-{_ANY_DAY}|{last.isoformat()})$"}


def _param(name, description, schema, *, style_form=False):
    # An empty value counts as leaving the parameter out, as the search form sends its empty fields.
    parameter = {"name": name, "in": "query", "required": False, "description": description, "schema": schema,
                 "allowEmptyValue": True}
    if style_form:
        parameter.update(style="form", explode=True)
    return parameter


def search_parameters(session: Session, *, today: date, municipalities: list) -> list[dict]:
    """The search's parameters as the API takes them today; ``municipalities``: active (slug, name)."""
    slugs = sorted(slug for slug, _ in municipalities)
    postcodes = sorted(session.scalars(select(Postcode.code).distinct()))
    months = [add_months(month_start(today), i) for i in range(18)]
    birth_first, birth_last = date(today.year - 13, today.month, 1), add_months(today, 10)
    start_first, start_last = date(today.year - 1, 1, 1), add_months(today, 36)
    return [
        _param("q", "Free text (name, organiser, place); accents and case do not matter.",
               {"type": "string", "maxLength": MAX_QUERY, "pattern": _NO_CONTROL}),
        _param("gemeente", "Municipality slugs (see /municipalities); also comma-separated.",
               {"type": "array", "items": {"type": "string", "enum": slugs} if slugs else {"not": {}}},
               style_form=True),
        _param("nabij", f"With one gemeente: also the municipalities within {NEARBY_KM} km of it.",
               {"type": "string", "enum": ["1"]}),
        _param("postcode", "Distance is measured from this postcode's centre (a postcode of the region).",
               {"type": "string", "enum": postcodes} if postcodes else {"type": "string", "not": {}}),
        _param("lat", "Latitude of a chosen point; needs lon.", {"type": "number", "minimum": -90, "maximum": 90}),
        _param("lon", "Longitude of a chosen point; needs lat.", {"type": "number", "minimum": -180, "maximum": 180}),
        _param("afstand", "Maximum distance in km; needs postcode, or lat and lon.",
               {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DISTANCE_KM}),
        _param("type", "Type of care.", {"type": "array", "items": {"type": "string", "enum": [k.value for k in Kind]}},
               style_form=True),
        _param("geboortedatum", f"Birth date or expected birth date of the child, {birth_first} to {birth_last}.",
               _date_range(birth_first, birth_last)),
        _param("start", f"Wanted start date, {start_first} to {start_last}, not before geboortedatum.",
               _date_range(start_first, start_last)),
        _param("maand", "Only locations with free places in this month (YYYY-MM, within 18 months).",
               {"type": "string", "enum": [m.strftime("%Y-%m") for m in months]}),
        _param("ikt", "Only income-related tariff.", {"type": "string", "enum": ["1"]}),
        _param("maxprijs", "Maximum day price in euro (income-related tariffs always included).",
               {"type": "number", "exclusiveMinimum": 0, "maximum": 200}),
        _param("open_voor", "Opens at or before this time (HH:MM).", {"type": "string", "pattern": _HOUR}),
        _param("open_na", "Closes at or after this time (HH:MM).", {"type": "string", "pattern": _HOUR}),
        _param("taal", "Languages spoken (any of).",
               {"type": "array", "items": {"type": "string", "enum": list(LANGUAGE_CODES)}}, style_form=True),
        _param("zorg", "Only locations for children with extra care needs.", {"type": "string", "enum": ["1"]}),
        _param("online", "Only locations that accept online requests.", {"type": "string", "enum": ["1"]}),
        _param("sorteer", "Sort order.", {"type": "string", "enum": list(SORTS)}),
        _param("pagina", "Page number (at most the number of pages).", {"type": "integer", "minimum": 1,
                                                                        "maximum": 10000}),
        _param("per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": 100}),
    ]


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")  # JSON's: no "nan", "1,5", " 1"


def _refusal(value: str, schema: dict) -> str | None:
    """Why ``value`` does not fit ``schema`` (the keywords the parameters use), or None."""
    if "not" in schema:
        return "no value is valid"
    if schema.get("type") in ("number", "integer"):
        if not _NUMBER.fullmatch(value):
            return "not a number"
        try:
            number = Decimal(value)  # exact, and no overflow for 1e999999
        except InvalidOperation:
            return "not a number"
        if schema["type"] == "integer" and number != number.to_integral_value():
            return "not an integer"  # 2.0 and 1e1 are integers to JSON Schema
        if (number < schema.get("minimum", number) or number > schema.get("maximum", number)
                or ("exclusiveMinimum" in schema and number <= schema["exclusiveMinimum"])):
            low = f"above {schema['exclusiveMinimum']}" if "exclusiveMinimum" in schema else f"from {schema['minimum']}"
            return f"out of range: {low} to {schema['maximum']}"
        return None
    if "enum" in schema and value not in schema["enum"]:
        return "not one of the values the document lists"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"longer than {schema['maxLength']} characters"
    if schema.get("format") == "date" and iso_date(value) is None:
        return "not a date (YYYY-MM-DD)"
    if "pattern" in schema and not re.fullmatch(schema["pattern"].removeprefix("^").removesuffix("$"), value):
        return "not in the range or form the document gives"
    return None


def canonical(args, parameters: list[dict]) -> MultiDict:
    """``args`` with each integer written as digits ("2.0", "2e0" → "2"), as the search reads them."""
    integers = {p["name"] for p in parameters if p["schema"].get("type") == "integer"}
    result = MultiDict()
    for name, value in args.items(multi=True):
        if name in integers and _refusal(value, {"type": "integer"}) is None and abs(Decimal(value)) < 10**6:
            value = str(int(Decimal(value)))
        result.add(name, value)
    return result


def refusals(args, parameters: list[dict]) -> dict[str, str]:
    """Per parameter, why its value does not fit the document; empty values count as absent."""
    problems = {}
    for parameter in parameters:
        name, schema = parameter["name"], parameter["schema"]
        values = args.getlist(name)
        if schema.get("type") == "array":
            schema = schema["items"]
            values = [item for v in values for item in v.split(",") if item.strip()]  # as the search reads them
        elif len(values) > 1:  # even empty ones: "q=&q=" is an array, not a string
            problems[name] = "given more than once"
            continue
        values = [v for v in values if v != ""]
        for value in values:
            if (reason := _refusal(value, schema)) is not None:
                problems[name] = reason
                break
    return problems


PROBLEM = {"type": "object", "required": ["status", "title"], "properties": {
    "status": {"type": "integer"}, "title": {"type": "string"},
    "errors": {"type": "object", "additionalProperties": {"type": "string"}}}}

LOCATION = {
    "type": "object",
    "required": ["id", "name", "organiser", "type", "address", "municipality", "coordinates", "licensed_places",
                 "age_months", "hours", "languages", "tariff", "day_price", "special_care",
                 "accepts_online_requests", "url"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string"}, "organiser": {"type": "string"},
        "type": {"type": "string", "enum": [k.value for k in Kind]},
        "address": {"type": "object", "required": ["street", "number", "postcode", "locality"], "properties": {
            "street": {"type": "string"}, "number": {"type": "string"}, "postcode": {"type": "string"},
            "locality": {"type": "string"}}},
        "municipality": {"type": "string"},
        "coordinates": {"type": "object", "required": ["lat", "lon"],
                        "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        "licensed_places": {"type": "integer", "minimum": 0},
        "age_months": {"type": "object", "required": ["min", "max"],
                       "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
        "hours": {"type": "object", "required": ["opens", "closes"],
                  "properties": {"opens": {"type": "string"}, "closes": {"type": "string"}}},
        "languages": {"type": "array", "items": {"type": "string"}},
        "tariff": {"type": "string", "enum": ["income", "free"]},
        "day_price": {"type": ["number", "null"]},
        "special_care": {"type": "boolean"},
        "accepts_online_requests": {"type": "boolean"},
        "url": {"type": "string", "format": "uri"},
        "free_places_this_month": {"type": "integer", "minimum": 0},
        "distance_km": {"type": "number", "minimum": 0},
        "description": {"type": "object", "additionalProperties": {"type": "string"}},
        "free_places": {"type": "array", "items": {"type": "object", "required": ["month", "age_group", "free_places"],
                        "properties": {"month": {"type": "string"}, "age_group": {"type": "string"},
                                       "free_places": {"type": "integer", "minimum": 0}}}},
    },
}


def _json_response(description, schema, *, problem=False):
    return {"description": description,
            "content": {("application/problem+json" if problem else "application/json"): {"schema": schema}}}


def document(server: str, parameters: list[dict]) -> dict:
    """``parameters``: :func:`search_parameters` of today."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Regionaal Loket Kinderopvang — open data", "version": "1.0.0",
                 "description": "Childcare locations of the region and their free places. No personal data.",
                 "license": {"name": "Modellicentie Gratis Hergebruik", "identifier": "CC0-1.0"}},
        "servers": [{"url": server + "/api/v1"}],
        "paths": {
            "/locations": {"get": {
                "operationId": "searchLocations", "summary": "Search locations across the region",
                "parameters": parameters,
                "responses": {
                    "200": _json_response("A page of locations", {
                        "type": "object", "required": ["total", "page", "pages", "per_page", "items", "facets"],
                        "properties": {
                            "total": {"type": "integer", "minimum": 0}, "page": {"type": "integer", "minimum": 1},
                            "pages": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer"},
                            "items": {"type": "array", "items": LOCATION},
                            "facets": {"type": "object", "properties": {
                                "municipality": {"type": "object", "additionalProperties": {"type": "integer"}},
                                "type": {"type": "object", "additionalProperties": {"type": "integer"}}}}}}),
                    "304": {"description": "Not modified (ETag)"},
                    "400": _json_response("Invalid parameters", PROBLEM, problem=True),
                }}},
            "/locations/{id}": {"get": {
                "operationId": "getLocation", "summary": "One location with its free places",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": _json_response("The location", LOCATION),
                    "304": {"description": "Not modified (ETag)"},
                    "404": _json_response("No such active location", PROBLEM, problem=True),
                }}},
            "/municipalities": {"get": {
                "operationId": "listMunicipalities", "summary": "The region's municipalities",
                "responses": {
                    "200": _json_response("Municipalities", {"type": "object", "required": ["items"], "properties": {
                        "items": {"type": "array", "items": {"type": "object",
                                  "required": ["slug", "name", "nis_code", "portal", "postcodes", "desk"]}}}}),
                    "304": {"description": "Not modified (ETag)"},
                }}},
        },
    }
