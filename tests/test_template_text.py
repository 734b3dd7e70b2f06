"""Translation checks that read the source: no user-facing text in a template outside gettext,
no plural written as "(s)" or "(en)", and no date, time or amount shown to a person formatted
without the reader's locale (Babel's filters and helpers do that; ``strftime`` does not)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from regional_loket import i18n

PACKAGE = Path(__file__).resolve().parent.parent / "regional_loket"
TEMPLATES = sorted(p for p in PACKAGE.rglob("templates/**/*") if p.is_file() and p.suffix in (".html", ".txt"))

_TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_ATTRIBUTE = re.compile(r'(?:^|\s)[\w:-]+="[^"]*"')
# Attributes a person reads or hears (screen readers read aria-label, title and alt).
_READ_ATTRIBUTE = re.compile(r'\b(?:title|alt|placeholder|aria-label|aria-description)\s*=\s*"([^"]*)"')
_WORD = re.compile(r"[^\W\d_]{2,}")
# Not words of a language: file formats, the servers' names, and a web address shown as such.
_NOT_LANGUAGE = re.compile(r"\b(?:CSV|Excel|XLSX|PDF|PostgreSQL|Redis)\b|\b[\w-]+(?:\.[\w-]+)+\b")


def _outside_gettext(source: str) -> list[str]:
    """What a template would show that no gettext call produced."""
    skeleton = _HTML_COMMENT.sub(" ", _JINJA.sub("§", _TRANS_BLOCK.sub("§", source)))
    found = [value for tag in _TAG.findall(skeleton) for value in _READ_ATTRIBUTE.findall(tag)
             if _WORD.search(_NOT_LANGUAGE.sub(" ", value.replace("§", " ")))]
    text = _TAG.sub(" ", skeleton)
    text = _ATTRIBUTE.sub(" ", text)  # a macro that writes an attribute fragment
    text = re.sub(r"&[a-zA-Z]+;|&#\d+;", " ", text)
    for line in text.splitlines():
        if _WORD.search(_NOT_LANGUAGE.sub(" ", line)):
            found.append(line.strip())
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_templates_show_no_text_outside_gettext(path):
    assert _outside_gettext(path.read_text()) == []


def test_the_template_check_finds_untranslated_text():
    assert _outside_gettext('<p class="x">Welkom</p>') == ["Welkom"]
    assert _outside_gettext('<button aria-label="Sluiten">×</button>') == ["Sluiten"]
    assert _outside_gettext('<p>{{ _("Welkom") }}</p><img alt="{{ _(\'Logo\') }}">') == []
    assert _outside_gettext("{% trans %}Welkom {{ name }}{% endtrans %} — CSV · Excel") == []


# "locatie(s)", "dag(en)", "kind(eren)": a plural is ngettext's, never a parenthesis.
# (French "connecté(e)" marks gender, not number: allowed.)
_PARENTHESISED_PLURAL = re.compile(r"[^\W\d_]\((?!e\))(?:[a-zé]{1,4}|'s)\)")


def test_no_plural_is_written_with_a_parenthesis():
    with (i18n.TRANSLATIONS / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        ids = [m.id for m in read_po(handle) if m.id]
    texts = [t for i in ids for t in (i if isinstance(i, tuple) else (i,))]
    assert [t for t in texts if _PARENTHESISED_PLURAL.search(t)] == []
    for language in ("fr", "en"):
        with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            strings = [s for m in read_po(handle) if m.id
                       for s in (m.string if isinstance(m.string, tuple) else (m.string,))]
        assert [s for s in strings if _PARENTHESISED_PLURAL.search(s)] == [], language


def test_the_plural_check_recognises_the_shortcut():
    assert _PARENTHESISED_PLURAL.search("3 locatie(s)") and _PARENTHESISED_PLURAL.search("2 vak(ken)")
    assert _PARENTHESISED_PLURAL.search("proposée(s)")
    assert not _PARENTHESISED_PLURAL.search("De kinderopvang (BKO)")
    assert not _PARENTHESISED_PLURAL.search("déconnecté(e)")


# In a template, strftime may only build machine values: a URL, a form field's value, a
# <time datetime>. What a person reads goes through dateformat/timeformat/datetimeformat.
_STRFTIME_IN_TEXT = re.compile(r"strftime\(")
_MACHINE_CONTEXT = re.compile(r"""(?:url_for\([^)]*|value="{{[^}]*|datetime="{{[^}]*|\bkey\s*=\s*|maand=)[^}]*?strftime\(""")
# Python: amounts never as "%.2f" or with a hand-written euro sign (web.formatting does money).
_PYTHON_AMOUNT = re.compile(r"""%\.2f|:\.2f}|€\s*{|€\s*%|{[^}]*}\s*€""")
# ISO shapes are machine values (URLs, form fields, exports, the API); anything else is a
# date written for a person, which Babel formats in the reader's language.
_PYTHON_DATE = re.compile(r"""strftime\(["'](?!(?:%Y-%m(?:-%d)?(?:[ T]%H:%M(?::%S)?)?|%H:%M)["'])""")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_templates_show_dates_in_the_readers_locale(path):
    source = path.read_text()
    shown = len(_STRFTIME_IN_TEXT.findall(source)) - len(_MACHINE_CONTEXT.findall(source))
    assert shown == 0, "use |dateformat, |timeformat or |datetimeformat for what a person reads"


def test_python_formats_amounts_and_dates_with_the_readers_locale():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE))
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _PYTHON_AMOUNT.search(line) or _PYTHON_DATE.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
