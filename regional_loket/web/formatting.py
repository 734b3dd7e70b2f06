"""Jinja filters that write numbers, money, distances and multilingual data in the reader's
language. Every template prints a price, a distance or a decimal through these, so a French or
English reader never sees "€ 39.50" next to Dutch-style "0,7 km"."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import format_currency, format_decimal, get_locale, gettext

from ..languages import DEFAULT as SOURCE_LANGUAGE  # data written in one language only is Dutch


def money(value, currency: str = "EUR") -> str:
    """39.5 → "€ 39,50" (nl), "39,50 €" (fr), "€39.50" (en); nothing for no value."""
    if value is None or value == "":
        return ""
    return format_currency(Decimal(str(value)), currency)


def number(value, digits: int | None = None) -> str:
    """A decimal in the reader's notation; ``digits`` fixes the number of decimals."""
    if value is None or value == "":
        return ""
    if digits is None:
        return format_decimal(value)
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(round(Decimal(str(value)), digits), format=pattern)


def distance_km(value) -> str:
    """0.66 → "0,7 km" (nl, fr), "0.7 km" (en): one decimal, as precise as a map reading."""
    if value is None or value == "":
        return ""
    return gettext("%(km)s km", km=number(value, 1))


def translated(value, language: str | None = None) -> str:
    """A value kept per language ({"nl": …, "fr": …, "en": …}) in the reader's language, with
    Dutch and then any language as fallback; a plain string (data in Dutch only) as it is."""
    if isinstance(value, dict):
        language = language or str(get_locale() or SOURCE_LANGUAGE)
        for code in (language, SOURCE_LANGUAGE):
            if value.get(code):
                return str(value[code])
        return next((str(text) for text in value.values() if text), "")
    return "" if value is None else str(value)


def init_app(app: Flask) -> None:
    for name, function in (("money", money), ("number", number), ("distance_km", distance_km),
                           ("translated", translated)):
        app.jinja_env.filters[name] = function
