"""Coordinators keep the municipality's offer current and watch supply and demand. This is their
home; later features add their pages here."""

from __future__ import annotations

from flask import Blueprint, g, render_template, url_for
from flask_babel import gettext as _

from ..accounts import can, require
from ..accounts import services as account_services
from ..accounts.models import Role
from ..extensions import db
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
    return render_template("coordinator/dashboard.html", members=members)
