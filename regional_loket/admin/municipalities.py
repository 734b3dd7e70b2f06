"""The region's municipalities, administered from the browser: create one (a provisioning job
with its progress on the page), archive and restore, rename its subdomain, and see which of its
fields a definition file (tenants/<slug>.toml) manages. Routes of the admin blueprint
(regional host, administrators only); every change is audited in the municipality's log."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from .. import clock
from ..accounts import Role, require
from ..accounts.forms import ConfirmForm
from ..audit.web import record_act
from ..extensions import db
from ..tenancy import Tenant
from ..tenancy import administration as tenant_admin
from ..tenancy import services as tenancy_services
from ..web.urls import portal_url
from . import coordinators, provisioning, services
from .forms import ArchiveForm, CoordinatorInviteForm, MunicipalityForm, RenameForm
from .models import ProvisioningStatus, TenantProvisioning
from .views import bp


def _tenant(slug: str) -> Tenant:
    tenant = tenancy_services.get_tenant(db.session, slug)
    if tenant is None:
        abort(404)
    return tenant


def _form_errors(form, errors: dict) -> None:
    for name, message in errors.items():
        form[name].errors = [*form[name].errors, str(message)] if name in form else [str(message)]


# --- create ---------------------------------------------------------------------------------------


@bp.route("/gemeenten/nieuw", methods=["GET", "POST"])
@require(Role.ADMIN)
def new_municipality():
    form = MunicipalityForm()
    if form.validate_on_submit():
        try:
            row = provisioning.request(
                db.session, slug=form.slug.data, subdomain=form.subdomain.data or form.slug.data,
                name=form.name.data, nis_code=form.nis_code.data, colour=form.colour.data,
                domains=(form.domains.data or "").splitlines(), coordinator_email=form.coordinator_email.data,
                coordinator_language=form.coordinator_language.data, requested_by=current_user.id,
                region_host=current_app.config["REGION_SERVER_NAME"], now=clock.now())
        except tenant_admin.AdministrationError as error:
            db.session.rollback()
            _form_errors(form, error.errors)
        else:
            db.session.commit()
            if not provisioning.start(current_app._get_current_object(), row):
                flash(_("De achtergrondtaak kon niet gestart worden (de wachtrij is onbereikbaar). Probeer het zo "
                        "opnieuw."), "error")
            return redirect(url_for("admin.provisioning_status", provisioning_id=row.id))
    return render_template("admin/municipality_new.html", form=form), 200 if not form.errors else 422


def _provisioning(provisioning_id: uuid.UUID) -> TenantProvisioning:
    row = db.session.get(TenantProvisioning, provisioning_id)
    if row is None:
        abort(404)
    return row


def _status(row: TenantProvisioning) -> dict:
    """What the page and its JSON say about a provisioning: status, step n of m and its label."""
    steps = len(provisioning.STEPS)
    done = steps if row.status == ProvisioningStatus.DONE else (provisioning.progress(current_app, row.id) or 0)
    done = min(done, steps)
    tenant = provisioning.tenant_of(db.session, row)
    label = (_("Klaar") if row.status == ProvisioningStatus.DONE else _("Mislukt")
             if row.status == ProvisioningStatus.FAILED else str(provisioning.STEPS[done][1]) if done < steps
             else _("Afronden"))
    return {
        "status": row.status, "step": done, "steps": steps, "label": label, "error": row.error,
        "text": _("Stap %(step)s van %(steps)s: %(label)s", step=done, steps=steps, label=label),
        "portal": portal_url(tenant) if tenant is not None and not tenant.is_archived else None,
        "detail": url_for("admin.municipality", slug=tenant.slug) if tenant is not None else None,
    }


@bp.route("/gemeenten/aanmaak/<uuid:provisioning_id>")
@require(Role.ADMIN)
def provisioning_status(provisioning_id: uuid.UUID):
    row = _provisioning(provisioning_id)
    return render_template("admin/municipality_provisioning.html", row=row, state=_status(row), confirm=ConfirmForm())


@bp.route("/gemeenten/aanmaak/<uuid:provisioning_id>/stand")
@require(Role.ADMIN)
def provisioning_progress(provisioning_id: uuid.UUID):
    """The progress as JSON, for the page's script (admin-provisioning.js) to poll."""
    response = jsonify(_status(_provisioning(provisioning_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/gemeenten/aanmaak/<uuid:provisioning_id>/opnieuw", methods=["POST"])
@require(Role.ADMIN)
def retry_provisioning(provisioning_id: uuid.UUID):
    row = _provisioning(provisioning_id)
    if ConfirmForm().validate_on_submit():
        try:
            provisioning.retry(row, now=clock.now())
        except LookupError:
            flash(_("Deze aanmaak is niet mislukt; er valt niets opnieuw te proberen."), "error")
        else:
            db.session.commit()
            if not provisioning.start(current_app._get_current_object(), row):
                flash(_("De achtergrondtaak kon niet gestart worden (de wachtrij is onbereikbaar). Probeer het zo "
                        "opnieuw."), "error")
    return redirect(url_for("admin.provisioning_status", provisioning_id=row.id))


# --- one municipality --------------------------------------------------------------------------


@bp.route("/gemeenten/<slug>")
@require(Role.ADMIN)
def municipality(slug: str, rename_form=None, invite_form=None):
    tenant = _tenant(slug)
    managed = tenant_admin.managed_fields(db.session, tenant)
    file_fields = tenant_admin.definition_fields(current_app.config.get("TENANTS_DIR"), tenant.slug)
    members, _total = coordinators.rows(tenant)
    return render_template(
        "admin/municipality.html", tenant=tenant, open_count=services.open_applications(db.session, tenant),
        retired=tenant_admin.retired_subdomains(db.session, tenant), file_fields=file_fields,
        file_labels=[str(tenant_admin.FILE_FIELDS[f]) for f in file_fields or ()], managed=managed, coordinators=members, confirm=ConfirmForm(),
        rename_form=rename_form or RenameForm(), invite_form=invite_form or CoordinatorInviteForm(),
        now=clock.now()), 200 if not ((rename_form and rename_form.errors) or (invite_form and invite_form.errors)) \
        else 422


@bp.route("/gemeenten/<slug>/subdomein", methods=["POST"])
@require(Role.ADMIN)
def rename_municipality(slug: str):
    tenant = _tenant(slug)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            old = tenant_admin.rename_subdomain(db.session, tenant, form.subdomain.data, now=clock.now())
        except tenant_admin.AdministrationError as error:
            db.session.rollback()
            _form_errors(form, error.errors)
        else:
            record_act(db.session, tenant, action="tenant.rename", subject=f"tenant:{tenant.slug}",
                       detail={"from": old, "to": tenant.subdomain}, role=Role.ADMIN.value)
            db.session.commit()
            flash(_("Het subdomein is nu %(new)s; %(old)s verwijst ernaar door.", new=tenant.subdomain, old=old),
                  "success")
            return redirect(url_for("admin.municipality", slug=tenant.slug))
    return municipality(slug, rename_form=form)


@bp.route("/gemeenten/<slug>/archiveren", methods=["GET", "POST"])
@require(Role.ADMIN)
def archive_municipality(slug: str):
    """A page that says what archiving does (how many open applications it withdraws) and asks
    for a reason before it does it."""
    tenant = _tenant(slug)
    if tenant.is_archived:
        flash(_("Deze gemeente is al gearchiveerd."), "error")
        return redirect(url_for("admin.municipality", slug=tenant.slug))
    form = ArchiveForm()
    if form.validate_on_submit():
        try:
            count = services.archive(db.session, tenant, actor_id=current_user.id, reason=form.reason.data,
                                     now=clock.now())
        except services.ArchiveError as error:
            db.session.rollback()
            _form_errors(form, error.errors)
        else:
            db.session.commit()
            flash(ngettext("%(name)s is gearchiveerd; %(num)s open aanvraag werd ingetrokken.",
                           "%(name)s is gearchiveerd; %(num)s open aanvragen werden ingetrokken.", count,
                           name=tenant.name), "success")
            return redirect(url_for("admin.municipality", slug=tenant.slug))
    return render_template("admin/municipality_archive.html", tenant=tenant, form=form,
                           open_count=services.open_applications(db.session, tenant)), 200 if not form.errors else 422


@bp.route("/gemeenten/<slug>/herstellen", methods=["POST"])
@require(Role.ADMIN)
def restore_municipality(slug: str):
    tenant = _tenant(slug)
    if ConfirmForm().validate_on_submit():
        if not tenant.is_archived:
            flash(_("Deze gemeente is niet gearchiveerd."), "error")
        else:
            services.restore(db.session, tenant, actor_id=current_user.id, now=clock.now())
            db.session.commit()
            flash(_("%(name)s is weer actief.", name=tenant.name), "success")
    return redirect(url_for("admin.municipality", slug=tenant.slug))
