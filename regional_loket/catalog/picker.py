"""The location picker: checkboxes of one municipality's locations, grouped by kind, for every
form that gives someone locations (the desk's staff invitations and changes, the region
administrator's grant form). One field and one macro (``macros/location_picker.html``), so the
rules — at least one, only this municipality's — hold wherever locations are chosen."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import Field, ValidationError

from ..tenancy import tenant_scope
from ..vocabulary import kind_label
from .models import Location

# Above this many locations the picker shows a filter box (with JavaScript; it stays a list
# of grouped checkboxes without).
FILTER_FROM = 12


@dataclass(frozen=True)
class LocationOption:
    id: uuid.UUID
    name: str
    kind: str
    locality: str
    active: bool


def location_options(session: Session, tenant) -> list[LocationOption]:
    """Every location of ``tenant`` (inactive ones too: staff may keep them), by kind and name.
    Works on any host: the tenant is bound for this one statement."""
    with tenant_scope(session, tenant):
        rows = session.execute(select(Location.id, Location.name, Location.kind, Location.locality, Location.active)
                               .order_by(Location.kind, Location.name, Location.id))
        return [LocationOption(*row) for row in rows]


def names_of(options: list[LocationOption], ids) -> list[str]:
    """The names of ``ids``, alphabetical (unknown ids left out)."""
    wanted = set(ids)
    return sorted((option.name for option in options if option.id in wanted), key=str.casefold)


def grouped(options: list[LocationOption]) -> list[tuple[str, list[LocationOption]]]:
    """``[(kind label, options)]`` in the options' order, for the macro."""
    groups: dict[str, list[LocationOption]] = {}
    for option in options:
        groups.setdefault(option.kind, []).append(option)
    return [(kind_label(kind), members) for kind, members in groups.items()]


class LocationsField(Field):
    """Several location ids, each one of ``options`` (set per request with :meth:`offer`);
    anything else — not an id, another municipality's location — is refused with a message,
    never dropped silently. Rendered by the ``location_picker`` macro."""

    def __init__(self, label=None, validators=None, *, required: bool = True, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required = required
        self.options: list[LocationOption] = []
        self.data: list[uuid.UUID] = []
        self._malformed = False

    def offer(self, options: list[LocationOption]) -> LocationsField:
        self.options = options
        return self

    def process_formdata(self, valuelist):
        parsed, self._malformed = [], False
        for raw in valuelist:
            try:
                parsed.append(uuid.UUID(raw))
            except ValueError:
                self._malformed = True
        self.data = list(dict.fromkeys(parsed))  # what the page shows checked again

    def process_data(self, value):
        self.data = list(value or [])

    def pre_validate(self, form):
        known = {option.id for option in self.options}
        if self._malformed or not set(self.data) <= known:
            self.data = [location_id for location_id in self.data if location_id in known]
            raise ValidationError(_l("Kies alleen locaties uit de lijst van deze gemeente."))
        if self.required and not self.data:
            raise ValidationError(_l("Kies minstens één locatie."))

    def chosen(self) -> set[uuid.UUID]:
        return set(self.data)

    def groups(self) -> list[tuple[str, list[LocationOption]]]:
        return grouped(self.options)

    @property
    def wants_filter(self) -> bool:
        return len(self.options) > FILTER_FROM

    def _value(self):
        return ""
