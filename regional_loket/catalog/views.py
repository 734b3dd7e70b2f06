"""Search and location pages, on the regional portal and on every municipal portal."""

from __future__ import annotations

import uuid
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..accounts.policy import public
from ..extensions import db
from ..tenancy import services as tenancy_services
from . import labels, search
from .cache import cached
from .models import CatalogLocation, Location

bp = Blueprint("catalog", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/catalog")


FACET_MUNICIPALITIES = 12  # municipalities named in the results' facet, most results first
CHECKLIST_MUNICIPALITIES = 30  # up to this many, the filter is a box per municipality


def today() -> date:
    return date.today()


def search_args(args: MultiDict, **changes) -> dict:
    """The current search as URL arguments, with ``changes`` (None removes an argument)."""
    merged = MultiDict(args)
    for key, value in changes.items():
        merged.poplist(key)
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            merged.add(key, item)
    return {k: merged.getlist(k) if len(merged.getlist(k)) > 1 else merged.get(k) for k in merged}


@bp.app_template_global()
def search_url(**changes) -> str:
    """This search with ``changes``, as a URL. The arguments go in the query string as they are:
    never as url_for keywords, where names like ``_external`` or ``endpoint`` mean something."""
    query = urlencode(search_args(request.args, **changes), doseq=True)
    if "search_page_url" not in g:  # a results page builds hundreds of these links
        g.search_page_url = url_for("catalog.search_page")
    return g.search_page_url + (f"?{query}" if query else "")


@bp.route("/zoeken")
@public
@cached
def search_page():
    tenant = g.tenant
    default = (tenant.slug,) if tenant is not None else ()
    tenants = tenancy_services.active_names(db.session)  # for the filter list, and to check the choice
    query, problems = search.parse(request.args, session=db.session, today=today(),
                                   default_municipalities=default, municipalities=tenants)
    result = search.run(db.session, query, today=today())
    # A region of hundreds of municipalities: the facet names those with most results, the
    # filter offers a name field instead of a box per municipality.
    facet = result.by_municipality
    if len(facet) > FACET_MUNICIPALITIES:
        facet = sorted(facet, key=lambda item: (-item[2], item[1]))[:FACET_MUNICIPALITIES]
    points = [{"lat": r["lat"], "lon": r["lon"], "name": r["name"], "url": location_link(r)} for r in result.rows]
    return render_template(
        "catalog/search.html", query=query, problems=problems, result=result, tenants=tenants, points=points,
        labels=labels, tile_url=current_app.config.get("MAP_TILE_URL"),
        tile_attribution=current_app.config.get("MAP_TILE_ATTRIBUTION"), today=today(),
        facet_municipalities=facet, more_municipalities=len(result.by_municipality) - len(facet),
        checklist_max=CHECKLIST_MUNICIPALITIES,
    )


@bp.app_template_global()
def location_link(row) -> str:
    slug, location_id = row["tenant_slug"], row["location_id"]
    if g.tenant is not None and g.tenant.slug == slug:
        return url_for("catalog.location", location_id=location_id)
    return url_for("catalog.location_elsewhere", location_id=location_id)


@bp.route("/locatie/<uuid:location_id>")
@public
def location_elsewhere(location_id: uuid.UUID):
    """From any portal to the location's own municipal portal (the catalog knows where)."""
    row = db.session.execute(
        select(CatalogLocation.location_id, CatalogLocation.tenant_id).where(
            CatalogLocation.location_id == location_id, CatalogLocation.active.is_(True))
    ).first()
    if row is None:
        abort(404)
    tenant = db.session.get(tenancy_services.Tenant, row.tenant_id)
    if tenant is None or tenant.is_archived:
        abort(404)
    from ..web.urls import switch_url

    return redirect(switch_url(tenant, "catalog.location", location_id=location_id))


@bp.route("/locaties/<uuid:location_id>")
@public
def location(location_id: uuid.UUID):
    tenant = g.tenant
    if tenant is None:
        return location_elsewhere(location_id)
    # Read from this municipality's own schema: another municipality's location is not here.
    place = db.session.get(Location, location_id)
    if place is None or not place.active:
        abort(404)
    first = search.month_start(today())
    months = [search.add_months(first, i) for i in range(18)]
    free = {(a.month, a.age_group): a.free_places for a in place.availability if a.month >= first}
    return render_template("catalog/location.html", place=place, months=months, free=free, labels=labels)
