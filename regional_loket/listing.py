"""Sorted, paged lists read from one statement (the desk's worklists and the like).

A domain's query function builds the statement and picks its order from a table of named sort
keys (``order``); the page asks for one page of it and its total (``page_of``), so a count
shown elsewhere and the list's own total are the same statement's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def order(columns: Sequence, *, descending: bool = False) -> list:
    """The ORDER BY of a sort key: its first column in the asked direction (NULL counts as the
    oldest: first going up, last going down), the rest — tie-breakers — always ascending."""
    first, *rest = columns
    return [first.desc().nulls_last() if descending else first.asc().nulls_first(), *rest]


def count(session: Session, statement: Select) -> int:
    """How many rows the statement gives."""
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


@dataclass(frozen=True)
class Page:
    rows: list
    total: int
    page: int
    pages: int


def page_of(session: Session, statement: Select, page: int, per_page: int) -> Page:
    """One page of the statement's rows; a page past the last (or below 1) is the last (first)."""
    total = count(session, statement)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    rows = list(session.execute(statement.offset((page - 1) * per_page).limit(per_page))) if total else []
    return Page(rows=rows, total=total, page=page, pages=pages)
