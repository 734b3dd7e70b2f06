"""The region's yearly income figures and the families' tariff estimate.

- ``models``: ``LowIncomeThreshold`` (the income under which the ``low_income`` priority
  criterion applies) and ``IncomeTariff`` (the income-related tariff's parameters), one row per
  year, in ``shared``; the administrators keep them (``admin/tariffs.py``).
- ``services``: reading (the figures of a year, or of the latest year before it) and saving,
  everything checked first (``ParameterError``).
- ``estimate``: the tariff as one pure function (``estimate(parameters, income=, children=,
  plan=)``), Decimal throughout.
- ``calculator``: the families' GET form and what a page needs to show the estimate, rendered by
  the macro in ``tariffs/_estimate.html``.

It depends on nothing but ``web`` (the ASCII number fields): the catalog's location page, the
request wizard, the family form and the administration read it.
"""

from flask import Blueprint, Flask

from . import services
from .calculator import Calculator, EstimateForm, calculator
from .estimate import Estimate, Plan, estimate
from .models import IncomeTariff, LowIncomeThreshold

__all__ = ["Calculator", "Estimate", "EstimateForm", "IncomeTariff", "LowIncomeThreshold", "Plan", "calculator",
           "estimate", "init_app", "services"]

# No routes: the blueprint puts templates/tariffs/ (the calculator's macro) on the template path.
bp = Blueprint("tariffs", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
