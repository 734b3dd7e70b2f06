"""The families' estimate: a GET form (nothing entered is stored, nothing is logged: the access
log writes the path without its query string) on a location page with an income-related tariff
and in the request's review step. :func:`calculator` reads the form from the query arguments it
is given and computes with the parameters of the wanted start's year (or the latest year
before it); the pages render it with the ``tariffs/_estimate.html`` macro."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms.validators import InputRequired, NumberRange, Optional

from ..web.input import DateField, DecimalField, IntegerField
from . import services
from .estimate import Estimate, Plan, estimate
from .models import IncomeTariff, LowIncomeThreshold

SUBMIT = "bereken"  # the form's button: the estimate is computed only when it was pressed
INCOME_MAX = Decimal(10_000_000)  # beyond this a typo, not an income: say so instead of computing
CHILDREN_MAX = 15

_DAYS = NumberRange(0, 7, message=_l("Vul 0 tot 7 dagen in."))


class EstimateForm(FlaskForm):
    """Read from the query string: no CSRF token (nothing is changed, and an anonymous visitor
    gets no session for it). A FlaskForm for Flask-WTF's translated messages of WTForms."""

    class Meta:
        csrf = False

    inkomen = DecimalField(
        _l("Gezamenlijk belastbaar inkomen per jaar (euro)"),
        validators=[InputRequired(_l("Vul het inkomen in, in euro per jaar.")),
                    NumberRange(0, INCOME_MAX, message=_l("Vul een inkomen in tussen 0 en 10 000 000 euro."))],
        description=_l("Van de ouders samen, zoals op het aanslagbiljet. Bijvoorbeeld 42000."))
    kinderen = IntegerField(
        _l("Aantal kinderen ten laste in het gezin"), default=1,
        validators=[InputRequired(_l("Vul het aantal kinderen in.")),
                    NumberRange(1, CHILDREN_MAX, message=_l("Vul 1 tot 15 kinderen in."))],
        description=_l("Dit kind meegeteld."))
    volle_dagen = IntegerField(_l("Volle dagen per week"), default=0, validators=[Optional(), _DAYS])
    halve_dagen = IntegerField(_l("Halve dagen per week"), default=0, validators=[Optional(), _DAYS])
    lange_dagen = IntegerField(_l("Lange dagen per week"), default=0, validators=[Optional(), _DAYS])
    startdatum = DateField(_l("Gewenste startdatum (niet verplicht)"), validators=[Optional()],
                           format="%Y-%m-%d", description=_l("Bepaalt het jaar van de parameters."))

    def plan(self) -> Plan:
        return Plan(full_days=self.volle_dagen.data or 0, half_days=self.halve_dagen.data or 0,
                    long_days=self.lange_dagen.data or 0)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not 1 <= self.plan().days <= 7:
            self.volle_dagen.errors = [*self.volle_dagen.errors,
                                       str(_l("Plan samen 1 tot 7 dagen per week."))]
            valid = False
        return valid


@dataclass(frozen=True)
class Calculator:
    form: EstimateForm
    year: int  # the year asked for (the wanted start's)
    parameters: IncomeTariff | None  # that year's, or the latest before it
    threshold: LowIncomeThreshold | None
    submitted: bool
    result: Estimate | None
    ask_start: bool  # the page does not know the wanted start: the form asks for it

    @property
    def other_year(self) -> bool:
        return self.parameters is not None and self.parameters.year != self.year

    @property
    def below_threshold(self) -> bool | None:
        if self.result is None or self.threshold is None:
            return None
        return self.form.inkomen.data < self.threshold.amount


def calculator(session: Session, args: MultiDict, *, today: date, start: date | None = None,
               suggested_start: date | None = None, plan: Plan | None = None) -> Calculator:
    """The calculator for a page: ``args`` the query arguments; ``start`` the wanted start when
    the page knows it (the request), else the form asks (and today's year applies without it),
    prefilled with ``suggested_start`` (a search's); ``plan`` prefills the days (the request's
    care plan)."""
    submitted = SUBMIT in args
    defaults = {}
    if plan is not None:
        defaults = {"volle_dagen": plan.full_days, "halve_dagen": plan.half_days, "lange_dagen": plan.long_days}
    if start or suggested_start:
        defaults["startdatum"] = start or suggested_start
    form = EstimateForm(args if submitted else None, **defaults)
    valid = submitted and form.validate()
    asked = form.startdatum.data if submitted and not form.startdatum.errors else suggested_start
    wanted = start or asked or today
    parameters = services.tariff_for(session, wanted.year)
    result = None
    if valid and parameters is not None:
        result = estimate(parameters, income=form.inkomen.data, children=form.kinderen.data, plan=form.plan())
    return Calculator(form=form, year=wanted.year, parameters=parameters,
                      threshold=services.threshold_for(session, wanted.year), submitted=submitted,
                      result=result, ask_start=start is None)
