"""Coordinators keep the municipality's offer current and watch supply and demand. This is their
home; later features add their pages here."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, g, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..accounts import can, require
from ..accounts import services as account_services
from ..accounts.models import Role
from ..care_requests.models import OPEN_STATUSES, Application, Status
from ..catalog.models import Location
from ..database import utcnow
from ..extensions import db
from ..provider import services as provider_services
from ..tenancy import tenant_required
from ..web import register_back_office

bp = Blueprint("coordinator", __name__, url_prefix="/beheer", template_folder="templates")


@register_back_office
def _link(user, tenant):
    if tenant is not None and can(user, (Role.COORDINATOR, Role.ADMIN), tenant=tenant):
        return [(_("Beheer %(name)s", name=tenant.name), url_for("coordinator.dashboard"))]
    return []


@bp.route("/")
@require(Role.COORDINATOR, Role.ADMIN)
@tenant_required
def dashboard():
    members = account_services.team(db.session, g.tenant)
    today = date.today()
    overdue_before = utcnow() - timedelta(days=int(g.tenant.setting("response_days", 21)))
    rows = db.session.execute(
        select(Location.id, Location.name, Location.active,
               func.count(Application.id).filter(Application.status.in_(OPEN_STATUSES)),
               func.count(Application.id).filter(Application.status.in_((Status.SUBMITTED, Status.IN_REVIEW)),
                                                 Application.submitted_at < overdue_before))
        .outerjoin(Application, Application.location_id == Location.id)
        .group_by(Location.id, Location.name, Location.active).order_by(Location.name)).all()
    vulnerable, placements = provider_services.vulnerable_share(db.session, None, year=today.year)
    return render_template("coordinator/dashboard.html", members=members, rows=rows, vulnerable=vulnerable,
                           placements=placements, response_days=int(g.tenant.setting("response_days", 21)))
