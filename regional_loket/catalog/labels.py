"""Translated names for the catalog's codes, shared by pages, filters and the API docs."""

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "group": _l("Kinderdagverblijf (groepsopvang)"),
    "family": _l("Onthaalouder (gezinsopvang)"),
    "out_of_school": _l("Buitenschoolse opvang"),
}
AGE_GROUP_LABELS = {"baby": _l("baby's"), "toddler": _l("peuters"), "school": _l("schoolkinderen")}
TARIFF_LABELS = {"income": _l("Inkomenstarief"), "free": _l("Vrije prijs")}
LANGUAGE_LABELS = {
    "nl": _l("Nederlands"), "fr": _l("Frans"), "en": _l("Engels"), "de": _l("Duits"), "ar": _l("Arabisch"),
    "tr": _l("Turks"), "es": _l("Spaans"), "it": _l("Italiaans"), "pl": _l("Pools"), "ro": _l("Roemeens"),
}
WEEKDAY_LABELS = {1: _l("ma"), 2: _l("di"), 3: _l("wo"), 4: _l("do"), 5: _l("vr"), 6: _l("za"), 7: _l("zo")}
SORT_LABELS = {"relevance": _l("Best passend"), "distance": _l("Dichtstbij"), "free": _l("Meeste vrije plaatsen"),
               "name": _l("Naam")}
