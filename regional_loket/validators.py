"""Contact fields, checked and normalised the same way in every form: phone numbers, e-mail
addresses and web addresses. Each validator leaves the normalised value in ``field.data``, so
what is stored is always in one form, and an empty field is left to ``Optional``/``DataRequired``.

Web addresses become links on public pages, so only ``http(s)`` is accepted on input, and
:func:`safe_http_url` guards again where a stored address becomes an ``href`` (rows written
before this check, imports, the demo loader).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from .accounts.services import normalise_email

PHONE_REGION = "BE"  # a number without country code is Belgian
MAX_URL = 300
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
# Whitespace, control characters and what would end an attribute: never part of a link we make.
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")


def normalise_phone(text: str | None, region: str = PHONE_REGION) -> str | None:
    """The number in international notation ("+32 16 12 34 56"), or None when it is no valid
    phone number. One notation for every way of typing it (016/12.34.56, 0032 16 …)."""
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_http_url(text: str | None) -> str | None:
    """An ``http(s)`` address with a host name, or None. ``www.example.be`` gets ``https://``;
    any other scheme (``javascript:``, ``data:``, ``mailto:``) is refused."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text or len(text) > MAX_URL or _UNSAFE.search(text):
        return None
    if "://" not in text:
        scheme = _SCHEME.match(text)
        if scheme and not text[scheme.end():scheme.end() + 1].isdigit():  # "host:8080" is no scheme
            return None
        text = "https://" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 — raises on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.username is not None or not parts.hostname:
        return None
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, parts.fragment))


def normalise_enterprise_number(text: str | None) -> str | None:
    """A Belgian enterprise number (KBO/BCE) as ``0xxx.xxx.xxx``, or None. Dots, spaces and a
    leading ``BE`` are allowed; an old nine-digit number gets its leading 0. The last two digits
    are 97 minus the first eight modulo 97, so a typo is caught."""
    if not isinstance(text, str):
        return None
    digits = re.sub(r"[\s.]", "", text.strip())
    if digits[:2].upper() == "BE":
        digits = digits[2:]
    if len(digits) == 9:
        digits = "0" + digits
    if not re.fullmatch(r"[01][0-9]{9}", digits):
        return None
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        return None
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def safe_http_url(value) -> str | None:
    """For templates (``|safe_http_url``): the address to put in an ``href``, or None for
    anything that is not plain ``http(s)``."""
    return normalise_http_url(value) if isinstance(value, str) else None


class _Normalising:
    """A WTForms validator that replaces a non-empty value by its normal form, or refuses it."""

    default_message = ""

    def __init__(self, message=None):
        self.message = message or self.default_message

    def normalise(self, text: str) -> str | None:
        raise NotImplementedError

    def __call__(self, form, field):
        if not isinstance(field.data, str) or not field.data.strip():
            return
        normalised = self.normalise(field.data.strip())
        if normalised is None:
            raise ValidationError(self.message)
        field.data = normalised


class PhoneNumber(_Normalising):
    default_message = _l("Dit is geen geldig telefoonnummer, bv. 016 12 34 56 of +32 470 12 34 56.")

    def normalise(self, text):
        return normalise_phone(text)


class EmailAddress(_Normalising):
    default_message = _l("Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be.")

    def normalise(self, text):
        return normalise_email(text)


class HttpUrl(_Normalising):
    default_message = _l("Geef een webadres dat begint met https:// of http://, bv. https://www.voorbeeld.be.")

    def normalise(self, text):
        return normalise_http_url(text)


class EnterpriseNumber(_Normalising):
    default_message = _l("Dit is geen geldig ondernemingsnummer: tien cijfers, bv. 0123.456.749.")

    def normalise(self, text):
        return normalise_enterprise_number(text)
