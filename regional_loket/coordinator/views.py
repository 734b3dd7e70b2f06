"""Coordinators keep the municipality's offer current and watch supply and demand. This is their
home; later features add their pages here."""

from __future__ import annotations

import uuid

from flask import Blueprint, g, render_template, url_for
from flask_babel import gettext as _

from .. import clock
from ..accounts import Role, can, require
from ..accounts import services as account_services
from ..applications import queries
from ..database import utcnow
from ..extensions import db
from ..tenancy import Hosts, serves
from ..web import register_back_office
from . import call_list

bp = Blueprint("coordinator", __name__, url_prefix="/beheer", template_folder="templates")
serves(bp, Hosts.MUNICIPALITY)


@register_back_office
def _link(user, tenant):
    if tenant is not None and can(user, (Role.COORDINATOR, Role.ADMIN), tenant=tenant):
        return [(_("Beheer %(name)s", name=tenant.name), url_for("coordinator.dashboard"))]
    return []


_MARKER = uuid.UUID(int=0)


@bp.route("/")
@require(Role.COORDINATOR, Role.ADMIN)
def dashboard():
    members = account_services.team(db.session, g.tenant)
    today = clock.today()
    rows = queries.location_summaries(db.session, now=utcnow(), response_days=g.tenant.settings.response_days)
    vulnerable, placements = queries.vulnerable_share(db.session, None, year=today.year)
    # Each location's inbox link: built once and filled in per row (a large municipality lists
    # hundreds of locations; url_for per row was a tenth of the page's time).
    inbox_url = url_for("provider.inbox", location_id=_MARKER).replace(str(_MARKER), "{}")
    return render_template("coordinator/dashboard.html", members=members, rows=rows, vulnerable=vulnerable,
                           placements=placements, response_days=g.tenant.settings.response_days,
                           calls_open=call_list.open_count(db.session), inbox_url=inbox_url)
