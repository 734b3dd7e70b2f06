"""The region's yearly income figures: the low-income threshold of the priority rules and the
income-related tariff's parameters, each with its source. The current year and later ones are
added and corrected here; a past year stays as it was (``tariffs.services``). Every change is
audited like a change of the priority rules (``policies.record_region_change``)."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import InputRequired, Optional

from .. import clock
from ..accounts import Role, require
from ..extensions import db
from ..tariffs import IncomeTariff, LowIncomeThreshold
from ..tariffs import services as tariff_services
from ..web.input import DecimalField, IntegerField
from .policies import record_region_change
from .views import bp

_NUMBER = _l("Vul een getal in.")


def _decimal(label, description=None):
    return DecimalField(label, validators=[InputRequired(_NUMBER)], description=description)


class ThresholdForm(FlaskForm):
    year = IntegerField(_l("Jaar"), validators=[InputRequired(_l("Vul een jaartal in."))])
    amount = _decimal(_l("Grens: gezamenlijk belastbaar inkomen per jaar (euro)"), _l("Bijvoorbeeld 30000.00"))
    source = TextAreaField(_l("Bron"), validators=[Optional()],
                           description=_l("Waar het cijfer vandaan komt: besluit, omzendbrief, website met datum."))


class TariffForm(FlaskForm):
    year = IntegerField(_l("Jaar"), validators=[InputRequired(_l("Vul een jaartal in."))])
    minimum = _decimal(_l("Minimum dagprijs (euro)"), _l("Bijvoorbeeld 6.24"))
    lowest_minimum = _decimal(_l("Laagste minimum, voor het verminderd tarief (euro)"), _l("Bijvoorbeeld 1.97"))
    maximum = _decimal(_l("Maximum dagprijs (euro)"), _l("Bijvoorbeeld 34.64"))
    child_reduction = _decimal(_l("Vermindering per bijkomend kind ten laste (euro per dag)"),
                               _l("Bijvoorbeeld 3.91"))
    income_lower = _decimal(_l("Inkomen tot waar het minimum geldt (euro per jaar)"))
    income_upper = _decimal(_l("Inkomen vanaf waar het maximum geldt (euro per jaar)"),
                            _l("Daartussen stijgt de dagprijs gelijkmatig van het minimum naar het maximum."))
    part_day_below_hours = _decimal(_l("Korte dag: minder dan (uren)"), _l("Bijvoorbeeld 5"))
    long_day_above_hours = _decimal(_l("Lange dag: meer dan (uren)"), _l("Bijvoorbeeld 11"))
    part_day_share = _decimal(_l("Aandeel van de dagprijs voor een korte dag (%)"), _l("Bijvoorbeeld 60"))
    full_day_share = _decimal(_l("Aandeel voor een gewone dag (%)"), _l("Bijvoorbeeld 100"))
    long_day_share = _decimal(_l("Aandeel voor een lange dag (%)"), _l("Bijvoorbeeld 130"))
    source = TextAreaField(_l("Bron"), validators=[Optional()],
                           description=_l("Waar de cijfers vandaan komen: besluit, omzendbrief, website met datum."))

    def values(self) -> dict:
        return {name: self[name].data for name in ("year", *tariff_services.TARIFF_FIELDS, "source")}


def _audit_detail(saved: tariff_services.Saved) -> dict:
    """The year, which fields changed, and the figures before and after; the source is words:
    the log keeps only that it changed."""
    figures = {k: v for k, v in saved.changes.items() if k not in ("source", "seeded", "year")}
    return {"year": saved.row.year, "changed": sorted(saved.changes), "figures": figures}


def _show_errors(form, errors: dict) -> None:
    for name, message in errors.items():
        form[name].errors = [*form[name].errors, message]


@bp.route("/inkomens")
@require(Role.ADMIN)
def tariffs():
    today = clock.today()
    return render_template("admin/tariffs.html", tariffs=tariff_services.tariffs(db.session),
                           thresholds=tariff_services.thresholds(db.session), today=today,
                           editable=lambda row: tariff_services.editable(row.year, today))


def _row(model, row_id: uuid.UUID | None):
    if row_id is None:
        return None
    row = db.session.get(model, row_id)
    if row is None:
        abort(404)
    return row


def _past(row) -> bool:
    """A past year's figures have no form: say so and go back to the list."""
    if row is not None and not tariff_services.editable(row.year, clock.today()):
        flash(_("De cijfers van een voorbij jaar worden niet meer gewijzigd."), "error")
        return True
    return False


@bp.route("/inkomens/tarief/nieuw", methods=["GET", "POST"], defaults={"row_id": None})
@bp.route("/inkomens/tarief/<uuid:row_id>", methods=["GET", "POST"])
@require(Role.ADMIN)
def tariff_form(row_id: uuid.UUID | None):
    row = _row(IncomeTariff, row_id)
    if _past(row):
        return redirect(url_for("admin.tariffs"), 303)
    today = clock.today()
    form = TariffForm(obj=row if request.method == "GET" else None)
    if row is None and request.method == "GET":
        latest = tariff_services.tariff_for(db.session, today.year + tariff_services.YEARS_AHEAD)
        if latest is not None:  # a new year mostly moves the figures a little: start from the last ones
            form.process(obj=latest)
            form.source.data = ""
        form.year.data = max(today.year, latest.year + 1 if latest is not None else today.year)
    if form.validate_on_submit():
        try:
            saved = tariff_services.save_tariff(db.session, form.values(), today=today, row=row)
        except tariff_services.ParameterError as error:
            db.session.rollback()
            _show_errors(form, error.errors)
        else:
            if saved.changes:
                # The source is words: the log keeps that it changed, and the figures.
                record_region_change("income_tariff.add" if row is None else "income_tariff.update", saved.row.id,
                                     **_audit_detail(saved))
            db.session.commit()
            flash(_("De tariefparameters van %(year)s zijn bewaard.", year=saved.row.year), "success")
            return redirect(url_for("admin.tariffs"))
    return render_template("admin/tariffs_form.html", form=form, row=row, today=today), \
        200 if not form.errors else 422


@bp.route("/inkomens/grens/nieuw", methods=["GET", "POST"], defaults={"row_id": None})
@bp.route("/inkomens/grens/<uuid:row_id>", methods=["GET", "POST"])
@require(Role.ADMIN)
def threshold_form(row_id: uuid.UUID | None):
    row = _row(LowIncomeThreshold, row_id)
    if _past(row):
        return redirect(url_for("admin.tariffs"), 303)
    today = clock.today()
    form = ThresholdForm(obj=row if request.method == "GET" else None)
    if row is None and request.method == "GET":
        form.year.data = today.year
    if form.validate_on_submit():
        values = {"year": form.year.data, "amount": form.amount.data, "source": form.source.data}
        try:
            saved = tariff_services.save_threshold(db.session, values, today=today, row=row)
        except tariff_services.ParameterError as error:
            db.session.rollback()
            _show_errors(form, error.errors)
        else:
            if saved.changes:
                record_region_change("income_threshold.add" if row is None else "income_threshold.update",
                                     saved.row.id, **_audit_detail(saved))
            db.session.commit()
            flash(_("De inkomensgrens van %(year)s is bewaard.", year=saved.row.year), "success")
            return redirect(url_for("admin.tariffs"))
    return render_template("admin/tariffs_threshold_form.html", form=form, row=row, today=today), \
        200 if not form.errors else 422
