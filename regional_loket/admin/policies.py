"""The region's priority policy versions: the list with their periods, a new version, and a
correction of one that has not started yet. A version in force, past or annulled has no form:
rankings made under it must stay explainable (``applications.policies``).

A change to the region's rules is audited in every active municipality's log: it changes how
each of their waiting lists is ranked, and that log is where a municipality reads who changed
what (there is no region-wide log table)."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Optional

from .. import clock, languages
from ..accounts import Role, require
from ..applications import PriorityPolicy
from ..applications import policies as policy_service
from ..applications.ranking import CRITERIA, TIE_BREAKS, policy_in_force, policy_name
from ..audit.web import record_act
from ..extensions import db
from ..web.input import DateField
from .views import bp

SLOTS = len(CRITERIA)  # one "n-th criterion" choice per known criterion


def record_region_change(action: str, subject, **detail) -> None:
    """A change to the region's rules or figures: one entry in the region's own log
    (``audit.record`` without a tenant; ids, dates, codes and amounts only: the log's rule)."""
    record_act(db.session, None, action=action, subject=subject, detail=detail, role=Role.ADMIN.value)


class PolicyForm(FlaskForm):
    name_nl = StringField(_l("Naam (Nederlands)"), description=_l("Bijvoorbeeld: Vlaamse voorrangsregels van 2027."))
    name_fr = StringField(_l("Naam (Frans, niet verplicht)"), validators=[Optional()])
    name_en = StringField(_l("Naam (Engels, niet verplicht)"), validators=[Optional()])
    tie_break = SelectField(_l("Bij gelijke voorrang telt"), choices=[])
    effective_from = DateField(_l("Van toepassing vanaf"), validators=[Optional()], format="%Y-%m-%d",
                               description=_l("Een datum na vandaag. De versie geldt tot de volgende begint."))

    def values(self) -> dict:
        return {"name_nl": self.name_nl.data, "name_fr": self.name_fr.data, "name_en": self.name_en.data,
                "criteria": [self[f"criterion_{i}"].data for i in range(1, SLOTS + 1)],
                "tie_break": self.tie_break.data, "effective_from": self.effective_from.data}

    def fill(self, policy: PriorityPolicy) -> None:
        for code in languages.CODES:
            self[f"name_{code}"].data = (policy.name or {}).get(code, "")
        for i in range(1, SLOTS + 1):
            self[f"criterion_{i}"].data = policy.criteria[i - 1] if i <= len(policy.criteria) else ""
        self.tie_break.data = policy.tie_break


for _slot in range(1, SLOTS + 1):
    setattr(PolicyForm, f"criterion_{_slot}",
            SelectField(_l("Criterium %(n)s", n=_slot), choices=[], validate_choice=False))


def _form(**kwargs) -> PolicyForm:
    form = PolicyForm(**kwargs)
    options = [SelectChoice("", "—")] + [SelectChoice(code, str(label)) for code, label in CRITERIA.items()]
    for i in range(1, SLOTS + 1):
        form[f"criterion_{i}"].choices = options
    form.tie_break.choices = [SelectChoice(code, str(label)) for code, label in TIE_BREAKS.items()]
    return form


_FIELD_FOR = {"criteria": "criterion_1"}


def _show_errors(form: PolicyForm, errors: dict) -> None:
    for name, message in errors.items():
        field = form[_FIELD_FOR.get(name, name)]
        field.errors = [*field.errors, message]


@bp.route("/voorrang")
@require(Role.ADMIN)
def policies():
    today = clock.today()
    return render_template("admin/policies.html", versions=policy_service.versions(db.session, today=today),
                           today=today, criteria=CRITERIA, tie_breaks=TIE_BREAKS, policy_name=policy_name,
                           state_labels=policy_service.STATE_LABELS)


@bp.route("/voorrang/nieuw", methods=["GET", "POST"])
@require(Role.ADMIN)
def policy_new():
    today = clock.today()
    form = _form()
    if request.method == "GET":
        current = policy_in_force(db.session, today)
        if current is not None:  # start from the rules in force: a new version is mostly a reordering
            form.fill(current)
            form.name_nl.data = form.name_fr.data = form.name_en.data = ""
    if form.validate_on_submit():
        try:
            policy = policy_service.add(db.session, form.values(), today=today)
        except policy_service.PolicyError as error:
            db.session.rollback()
            _show_errors(form, error.errors)
        else:
            record_region_change("policy.add", policy.id, effective_from=policy.effective_from.isoformat(),
                                 criteria=list(policy.criteria), tie_break=policy.tie_break)
            db.session.commit()
            flash(_("De nieuwe versie van de voorrangsregels is bewaard."), "success")
            return redirect(url_for("admin.policies"))
    return render_template("admin/policies_form.html", form=form, policy=None, today=today,
                           slots=SLOTS), 200 if not form.errors else 422


@bp.route("/voorrang/<uuid:policy_id>", methods=["GET", "POST"])
@require(Role.ADMIN)
def policy_edit(policy_id: uuid.UUID):
    today = clock.today()
    policy = db.session.get(PriorityPolicy, policy_id)
    if policy is None:
        abort(404)
    if policy.annulled or policy.effective_from <= today:
        flash(_("Een versie die van kracht is, voorbij is of vernietigd werd, wordt nooit gewijzigd. Voeg een "
                "nieuwe versie toe."), "error")
        return redirect(url_for("admin.policies"), 303)
    form = _form()
    if request.method == "GET":
        form.fill(policy)
        form.effective_from.data = policy.effective_from
    if form.validate_on_submit():
        try:
            changes = policy_service.update(db.session, policy, form.values(), today=today)
        except policy_service.PolicyError as error:
            db.session.rollback()
            _show_errors(form, error.errors)
        else:
            if changes:
                # Names are words: the log keeps which fields changed, the codes and the dates.
                detail = {k: v for k, v in changes.items() if k != "name"}
                record_region_change("policy.update", policy.id, changed=sorted(changes), **detail)
            db.session.commit()
            flash(_("De versie is bijgewerkt."), "success")
            return redirect(url_for("admin.policies"))
    return render_template("admin/policies_form.html", form=form, policy=policy, today=today,
                           slots=SLOTS), 200 if not form.errors else 422
