"""Open data, read-only: ``/api/v1``. No personal data ever passes here; responses carry ETags."""

from __future__ import annotations

import hashlib
import json
import uuid

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from .. import clock
from ..accounts import public
from ..extensions import csrf, db
from ..months import month_start
from ..tenancy import Hosts, serves
from ..tenancy import services as tenancy_services
from ..web import problem
from ..web.urls import portal_url
from . import index, openapi, search
from .cache import cached
from .models import CatalogAvailability, CatalogLocation

bp = Blueprint("api", __name__, url_prefix="/api/v1")
serves(bp, Hosts.ALL)
csrf.exempt(bp)
MAX_PER_PAGE = 100


def _json(payload, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    response = Response(body, status=status, mimetype="application/json")
    if status == 200:
        response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
        response.cache_control.public = True
        response.cache_control.max_age = 60
        response = response.make_conditional(request)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _location_json(row: dict, *, detail: bool = False) -> dict:
    tenant_host = f"{row['tenant_subdomain']}.{current_app.config['REGION_SERVER_NAME']}"
    data = {
        "id": str(row["location_id"]), "name": row["name"], "organiser": row["organiser"], "type": row["kind"],
        "address": {"street": row["street"], "number": row["number"], "postcode": row["postcode"],
                    "locality": row["locality"]},
        "municipality": row["tenant_slug"],
        "coordinates": {"lat": row["lat"], "lon": row["lon"]},
        "licensed_places": row["licensed_places"],
        "age_months": {"min": row["min_age_months"], "max": row["max_age_months"]},
        "hours": {"opens": row["opens_at"].strftime("%H:%M"), "closes": row["closes_at"].strftime("%H:%M")},
        "languages": list(row["languages"]),
        "tariff": row["tariff"],
        "day_price": float(row["day_price"]) if row["day_price"] is not None else None,
        "special_care": row["special_care"],
        "accepts_online_requests": row["accepts_online"],
        "url": f"{current_app.config['PREFERRED_URL_SCHEME']}://{tenant_host}/locaties/{row['location_id']}",
    }
    if "free_places" in row:
        data["free_places_this_month"] = row["free_places"]
    if row.get("distance_km") is not None:
        data["distance_km"] = round(row["distance_km"], 2)
    if detail:
        data["description"] = row["description"]
    return data


@bp.route("/locations")
@public
@cached
def locations():
    today = clock.today()
    snapshot = index.snapshot(db.session, today)  # None: every part of the search in SQL
    if snapshot is not None:
        names = snapshot.names
        parameters = snapshot.remember(("api-parameters",), lambda: openapi.search_parameters(
            db.session, today=today, municipalities=names))
    else:
        names = tenancy_services.active_names(db.session)
        parameters = openapi.search_parameters(db.session, today=today, municipalities=names)
    args = openapi.canonical(request.args, parameters)
    try:
        per_page = int(args.get("per_page") or search.PER_PAGE)
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError
    except ValueError:
        return problem(400, "Invalid request", errors={"per_page": f"an integer from 1 to {MAX_PER_PAGE}"})
    query, problems = search.parse(args, session=db.session, today=today, municipalities=names,
                                   centroids=snapshot.centroids if snapshot is not None else None)
    # The search's own message where it has one; besides, whatever the document does not admit
    # (the search page is more lenient: "on" for a switch, a municipality's name as typed).
    problems = {**openapi.refusals(args, parameters), **problems}
    if problems:
        return problem(400, "Invalid request", errors=problems)
    result = index.run(db.session, query, today=today, per_page=per_page, snapshot=snapshot)
    if query.page > result.pages:
        return problem(400, "Invalid request", errors={"pagina": f"there are {result.pages} pages"})
    return _json({
        "total": result.total, "page": result.page, "pages": result.pages, "per_page": per_page,
        "items": [_location_json(row) for row in result.rows],
        "facets": {"municipality": {slug: count for slug, _, count in result.by_municipality},
                   "type": result.by_kind},
    })


@bp.route("/locations/<location_id>")
@public
@cached
def location(location_id: str):
    try:
        key = uuid.UUID(location_id)
    except ValueError:
        return problem(404, "Not found")
    row = db.session.execute(
        select(CatalogLocation, tenancy_services.Tenant.slug, tenancy_services.Tenant.subdomain)
        .join(tenancy_services.Tenant, tenancy_services.Tenant.id == CatalogLocation.tenant_id)
        .where(CatalogLocation.location_id == key, CatalogLocation.active.is_(True),
               tenancy_services.Tenant.status == "active")
    ).first()
    if row is None:
        return problem(404, "Not found")
    place = row[0]
    data = {c: getattr(place, c) for c in ("location_id", "name", "organiser", "kind", "street", "number",
                                            "postcode", "locality", "lat", "lon", "licensed_places",
                                            "min_age_months", "max_age_months", "opens_at", "closes_at",
                                            "languages", "tariff", "day_price", "special_care",
                                            "accepts_online", "description")}
    data.update(tenant_slug=row.slug, tenant_subdomain=row.subdomain)
    body = _location_json(data, detail=True)
    first = month_start(clock.today())
    body["free_places"] = [
        {"month": a.month.strftime("%Y-%m"), "age_group": a.age_group, "free_places": a.free_places}
        for a in db.session.scalars(
            select(CatalogAvailability).where(CatalogAvailability.location_id == key,
                                              CatalogAvailability.month >= first)
            .order_by(CatalogAvailability.month, CatalogAvailability.age_group))
    ]
    return _json(body)


@bp.route("/municipalities")
@public
@cached
def municipalities():
    return _json({"items": [
        {"slug": t.slug, "name": t.name, "nis_code": t.nis_code, "portal": portal_url(t),
         "postcodes": [{"code": p.code, "locality": p.locality, "lat": p.lat, "lon": p.lon} for p in t.postcodes],
         "desk": {k: t.desk.get(k) for k in ("name", "address", "phone", "email", "hours") if t.desk.get(k)}}
        for t in tenancy_services.list_tenants(db.session, include_archived=False, with_postcodes=True)
    ]})


@bp.route("/openapi.json", endpoint="openapi")
@public
def openapi_document():
    today = clock.today()
    parameters = openapi.search_parameters(db.session, today=today,
                                           municipalities=tenancy_services.active_names(db.session))
    return _json(openapi.document(portal_url(None).rstrip("/"), parameters))


@bp.errorhandler(404)
def _not_found(error):
    return problem(404, "Not found", error=error)


@bp.errorhandler(405)
def _not_allowed(error):
    return problem(405, "Method not allowed", error=error)
