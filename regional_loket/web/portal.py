"""The pages every portal has: its home, the municipality's logo and the host's brand colour.
(The probes /healthz and /readyz are the observability package's.)"""

from __future__ import annotations

import hashlib

from flask import abort, current_app, g, make_response, render_template, request, send_file

from ..extensions import db
from ..tenancy import Hosts, only_on, profiles
from ..tenancy import services as tenancy_services
from .blueprint import bp
from .declarations import public
from .urls import switch_urls


@bp.route("/")
@public
def home():
    tenant = g.tenant
    if tenant is None:
        tenants = tenancy_services.directory(db.session)
        # The links built together: one url_for per page instead of two or three per municipality.
        return render_template("portal/region.html", cards=list(zip(tenants, switch_urls(tenants), strict=True)))
    return render_template("portal/municipality.html", welcome=profiles.welcome_text(db.session, tenant))


@bp.route("/logo")
@only_on(Hosts.MUNICIPALITY)
@public
def logo():
    """The municipality's logo: the one its desk uploaded (in the database, the same on every
    node), else its definition's file (tenants/); 404 without either."""
    uploaded = profiles.uploaded_logo(db.session, g.tenant)
    if uploaded is not None:
        response = make_response(uploaded.content)
        response.mimetype = uploaded.content_type
        response.set_etag(uploaded.sha256)
        response.cache_control.public = True
        response.cache_control.max_age = 3600  # the page links it with ?v=<hash>: a new logo is a new URL
        return response.make_conditional(request)
    path = tenancy_services.logo_file(current_app.config["TENANTS_DIR"], g.tenant)
    if path is None:
        abort(404)
    return send_file(path, mimetype=tenancy_services.LOGO_TYPES[path.suffix.lower()], max_age=3600,
                     conditional=True)


@bp.route("/branding.css")
@public
def branding():
    """The host's brand colour as CSS custom properties (the CSP allows no inline style)."""
    tenant = g.tenant
    colour = tenant.colour if tenant is not None else current_app.config.get("REGION_COLOUR", "#1d4f91")
    css = (
        ":root {\n"
        f"  --rl-brand: {colour};\n"
        "  --rl-brand-contrast: #ffffff;\n"
        "}\n"
    )
    response = make_response(css)
    response.mimetype = "text/css"
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:20])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)
