"""Translated names for the catalog's codes, shared by pages, filters and the API docs."""

from flask_babel import lazy_gettext as _l

from ..vocabulary import AGE_GROUP_LABELS, KIND_LABELS  # noqa: F401  (defined once there; pages read labels.*)
from ..web.formatting import translated
from .mirror import fold

TARIFF_LABELS = {"income": _l("Inkomenstarief"), "free": _l("Vrije prijs")}
LANGUAGE_LABELS = {
    "nl": _l("Nederlands"), "fr": _l("Frans"), "en": _l("Engels"), "de": _l("Duits"), "ar": _l("Arabisch"),
    "tr": _l("Turks"), "es": _l("Spaans"), "it": _l("Italiaans"), "pl": _l("Pools"), "ro": _l("Roemeens"),
}
WEEKDAY_LABELS = {1: _l("ma"), 2: _l("di"), 3: _l("wo"), 4: _l("do"), 5: _l("vr"), 6: _l("za"), 7: _l("zo")}
SORT_LABELS = {"relevance": _l("Best passend"), "distance": _l("Dichtstbij"), "free": _l("Meeste vrije plaatsen"),
               "name": _l("Naam")}

# Closure periods give a reason. Staff write it in Dutch on the profile form; the usual reasons
# (the code or the Dutch words staff type for it) are shown in the reader's language.
CLOSURE_REASONS = {
    "summer": _l("zomersluiting"),
    "christmas": _l("kerstsluiting"),
    "easter": _l("paassluiting"),
    "holiday": _l("feestdag"),
    "bridge": _l("brugdag"),
    "training": _l("vormingsdag"),
}
_CLOSURE_WORDS = {
    "summer": ("zomer", "zomersluiting", "zomervakantie", "jaarlijkse sluiting", "bouwverlof"),
    "christmas": ("kerst", "kerstmis", "kerstsluiting", "kerstvakantie", "eindejaar", "eindejaarssluiting"),
    "easter": ("pasen", "paassluiting", "paasvakantie"),
    "holiday": ("feestdag", "wettelijke feestdag"),
    "bridge": ("brugdag",),
    "training": ("vorming", "vormingsdag", "opleiding", "opleidingsdag", "pedagogische studiedag"),
}
_CLOSURE_CODES = {word: code for code, words in _CLOSURE_WORDS.items() for word in words}


def closure_reason_label(reason) -> str:
    """A closure's reason for the reader: a usual reason translated; per-language text
    ({"nl": …, "fr": …}) in the reader's language; anything else in the words staff wrote."""
    if isinstance(reason, dict):
        return translated(reason)
    text = (reason or "").strip()
    code = text if text in CLOSURE_REASONS else _CLOSURE_CODES.get(fold(text).strip(" ."))
    return str(CLOSURE_REASONS[code]) if code else text
