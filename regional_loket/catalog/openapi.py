"""The OpenAPI 3.1 description of the open-data API (tested against the API with schemathesis)."""

from __future__ import annotations

from .models import Kind
from .search import LANGUAGE_CODES, MAX_DISTANCE_KM, MAX_QUERY, NEARBY_KM, SORTS


def _param(name, description, schema, *, style_form=False):
    # An empty value counts as leaving the parameter out, as the search form sends its empty fields.
    parameter = {"name": name, "in": "query", "required": False, "description": description, "schema": schema,
                 "allowEmptyValue": True}
    if style_form:
        parameter.update(style="form", explode=True)
    return parameter


SEARCH_PARAMETERS = [
    _param("q", "Free text (name, organiser, place); accents and case do not matter.",
           {"type": "string", "maxLength": MAX_QUERY}),
    _param("gemeente", "Municipality slugs (see /municipalities).",
           {"type": "array", "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,39}$"}}, style_form=True),
    _param("nabij", f"With one gemeente: also the municipalities within {NEARBY_KM} km of it.",
           {"type": "string", "enum": ["1"]}),
    _param("postcode", "Distance is measured from this postcode's centre.", {"type": "string", "pattern": "^[1-9][0-9]{3}$"}),
    _param("lat", "Latitude of a chosen point (with lon).", {"type": "number", "minimum": -90, "maximum": 90}),
    _param("lon", "Longitude of a chosen point (with lat).", {"type": "number", "minimum": -180, "maximum": 180}),
    _param("afstand", "Maximum distance in km (needs postcode or lat/lon).",
           {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DISTANCE_KM}),
    _param("type", "Type of care.", {"type": "array", "items": {"type": "string", "enum": [k.value for k in Kind]}},
           style_form=True),
    _param("geboortedatum", "Birth date or expected birth date of the child.", {"type": "string", "format": "date"}),
    _param("start", "Wanted start date.", {"type": "string", "format": "date"}),
    _param("maand", "Only locations with free places in this month (YYYY-MM, within 18 months).",
           {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
    _param("ikt", "Only income-related tariff.", {"type": "string", "enum": ["1"]}),
    _param("maxprijs", "Maximum day price in euro (income-related tariffs always included).",
           {"type": "number", "exclusiveMinimum": 0, "maximum": 200}),
    _param("open_voor", "Opens at or before this time (HH:MM).", {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}),
    _param("open_na", "Closes at or after this time (HH:MM).", {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}),
    _param("taal", "Languages spoken (any of).",
           {"type": "array", "items": {"type": "string", "enum": list(LANGUAGE_CODES)}}, style_form=True),
    _param("zorg", "Only locations for children with extra care needs.", {"type": "string", "enum": ["1"]}),
    _param("online", "Only locations that accept online requests.", {"type": "string", "enum": ["1"]}),
    _param("sorteer", "Sort order.", {"type": "string", "enum": list(SORTS)}),
    _param("pagina", "Page number.", {"type": "integer", "minimum": 1, "maximum": 10000}),
    _param("per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": 100}),
]

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


def document(server: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Regionaal Loket Kinderopvang — open data", "version": "1.0.0",
                 "description": "Childcare locations of the region and their free places. No personal data.",
                 "license": {"name": "Modellicentie Gratis Hergebruik", "identifier": "CC0-1.0"}},
        "servers": [{"url": server + "/api/v1"}],
        "paths": {
            "/locations": {"get": {
                "operationId": "searchLocations", "summary": "Search locations across the region",
                "parameters": SEARCH_PARAMETERS,
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
