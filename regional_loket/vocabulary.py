"""The codes of childcare that several domains share, each with its translated label, written
once: the kinds of care a location offers and the age groups its free places are counted in.

Python reads the constants; templates read the filters ``kind_label`` and ``age_group_label``
and the global ``AGE_GROUPS`` (registered by ``init_app``). Month arithmetic on ages lives in
``regional_loket.months``.
"""

from __future__ import annotations

import enum

from flask import Flask
from flask_babel import lazy_gettext as _l


class Kind(enum.StrEnum):
    GROUP = "group"  # kinderdagverblijf (groepsopvang)
    FAMILY = "family"  # onthaalouder (gezinsopvang)
    OUT_OF_SCHOOL = "out_of_school"  # buitenschoolse opvang (BKO/IBO)


KIND_LABELS = {
    Kind.GROUP: _l("Kinderdagverblijf (groepsopvang)"),
    Kind.FAMILY: _l("Onthaalouder (gezinsopvang)"),
    Kind.OUT_OF_SCHOOL: _l("Buitenschoolse opvang"),
}


class AgeGroup(enum.StrEnum):
    BABY = "baby"
    TODDLER = "toddler"
    SCHOOL = "school"


# Completed months of age, both ends included. School overlaps toddler on purpose: a child of
# 30 months may start school, so a search at that age shows both kinds of free places; an
# application, though, counts in exactly one group (``age_group_for``).
AGE_GROUP_MONTHS = {AgeGroup.BABY: (0, 17), AgeGroup.TODDLER: (18, 35), AgeGroup.SCHOOL: (30, 155)}
AGE_GROUP_LABELS = {AgeGroup.BABY: _l("baby's"), AgeGroup.TODDLER: _l("peuters"),
                    AgeGroup.SCHOOL: _l("schoolkinderen")}
AGE_GROUPS: tuple[AgeGroup, ...] = tuple(AgeGroup)


def age_group_label(code: str) -> str:
    """The reader's word for an age group; an unknown code as it is (old rows, exports)."""
    return str(AGE_GROUP_LABELS.get(code, code))


def kind_label(code: str) -> str:
    return str(KIND_LABELS.get(code, code))


def age_groups_for(months: int | None) -> tuple[AgeGroup, ...]:
    """Every group whose free places suit a child of ``months`` (all of them for no age;
    a child not born yet counts as 0)."""
    if months is None:
        return AGE_GROUPS
    return tuple(g for g, (low, high) in AGE_GROUP_MONTHS.items() if low <= max(months, 0) <= high)


def age_group_for(months: int, kind: str) -> AgeGroup:
    """The one group an application at a location of ``kind`` counts in: out-of-school care
    only has school places; day care counts babies and toddlers, and older children as school."""
    if kind == Kind.OUT_OF_SCHOOL:
        return AgeGroup.SCHOOL
    for group in (AgeGroup.BABY, AgeGroup.TODDLER):
        low, high = AGE_GROUP_MONTHS[group]
        if low <= max(months, 0) <= high:
            return group
    return AgeGroup.SCHOOL


def age_groups_of_kind(kind: str) -> tuple[AgeGroup, ...]:
    """The groups a location of ``kind`` keeps free places for."""
    return (AgeGroup.SCHOOL,) if kind == Kind.OUT_OF_SCHOOL else (AgeGroup.BABY, AgeGroup.TODDLER)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["age_group_label"] = age_group_label
    app.jinja_env.filters["kind_label"] = kind_label
    app.jinja_env.globals["AGE_GROUPS"] = AGE_GROUPS
