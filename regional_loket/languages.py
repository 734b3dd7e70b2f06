"""The languages the platform speaks, written once: the configuration (``LANGUAGES``,
``BABEL_DEFAULT_LOCALE``), the language switch, account preferences, forms, the desk's texts
and the catalogs all read them from here.

Dutch is the source language of every message id and the language of data written in one
language only. Each language is named in its own language, so a reader finds theirs whatever
the page's language. (The languages a *location* speaks are another list: catalog.labels.)
"""

from __future__ import annotations

DEFAULT = "nl"
NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}
CODES: tuple[str, ...] = tuple(NAMES)


def supported(code: object) -> bool:
    return isinstance(code, str) and code in NAMES


def or_default(code: object, fallback: str = DEFAULT) -> str:
    """``code`` when the platform speaks it, else ``fallback`` (Dutch unless told)."""
    return code if supported(code) else fallback
