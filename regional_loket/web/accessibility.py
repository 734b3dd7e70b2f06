"""The accessibility statement every public-sector site must publish (Flemish Bestuursdecreet,
EU directive 2016/2102), with a contact for feedback: the municipality's on its host, the
region's on the regional portal. Linked from every page's footer."""

from __future__ import annotations

from flask import g, render_template

from ..extensions import db
from ..tenancy import profiles
from .blueprint import bp
from .declarations import public


@bp.route("/toegankelijkheid")
@public
def accessibility():
    statement = profiles.accessibility_statement(db.session, g.tenant)
    return render_template("portal/accessibility.html", statement=statement, compliance=profiles.COMPLIANCE)
