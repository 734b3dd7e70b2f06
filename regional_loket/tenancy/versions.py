"""Whether every tenant's schema is at this code's head, as ``/readyz`` and the administrators'
health page ask it, with a short memory of a *good* answer.

Reading every tenant's version takes a catalog lookup and a ``UNION ALL`` over every version
table: 0.1–0.4 s at 1,000 tenants, and a load balancer asks each node every few seconds. A
schema goes behind only when code with a newer head starts (a new process: its cache is empty)
or by hand, so an answer with nobody behind is kept for ``TENANT_VERSIONS_CACHE_SECONDS``
(config/default.py), per process, for exactly the schemas it was read for: a municipality
created or removed since is read again at once. An answer with a schema behind, or without a
version, is never kept: the next call reads again, so a fixed tenant counts as soon as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from flask import Flask
from sqlalchemy import Connection

from . import migrate

EXTENSION = "loket.tenant_versions"  # app.extensions key of the app's VersionCache


def is_behind(location: str | Path, version: str | None) -> bool:
    """Behind this code's head of the track at ``location``: no version, or a revision this code
    has short of its head. A revision it does not know is *ahead* (a newer release migrated
    first, as in a rolling upgrade), which is not behind."""
    if version is None:
        return True
    heads, known = _revisions(str(location))
    return version in known and version not in heads


@cache
def _revisions(location: str) -> tuple[frozenset, frozenset]:
    """(heads, every revision) of a track: read once per process, like its scripts."""
    script = migrate.script_directory(location)
    return frozenset(script.get_heads()), frozenset(r.revision for r in script.walk_revisions())


@dataclass(frozen=True)
class TenantVersions:
    versions: Mapping[str, str | None]  # schema → its version (None: no version table)
    behind: tuple[str, ...]  # the schemas behind the head, sorted

    @property
    def good(self) -> bool:
        return not self.behind


class VersionCache:
    """One app's memory of its last good answer. ``clock`` (monotonic seconds) is there for the
    tests; the answer is replaced in one assignment, so threads of a worker may share it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._kept: tuple[tuple, float, TenantVersions] | None = None

    def read(self, connection: Connection, schemas: Iterable[str], location: str | Path) -> TenantVersions:
        """The versions of ``schemas`` against the head at ``location``: the kept good answer
        for the same schemas while it is young enough, else read (``migrate.read_versions``)."""
        schemas = list(schemas)
        key = (str(location), frozenset(schemas))
        kept = self._kept
        now = self.clock()
        if kept is not None and kept[0] == key and now < kept[1]:
            return kept[2]
        versions = migrate.read_versions(connection, schemas)
        answer = TenantVersions(MappingProxyType(versions),
                                tuple(sorted(s for s, v in versions.items() if is_behind(location, v))))
        if answer.good and self.seconds > 0:
            self._kept = (key, now + self.seconds, answer)
        else:
            self._kept = None  # a bad answer is read again next time, never served from memory
        return answer

    def clear(self) -> None:
        self._kept = None


def version_cache(app: Flask) -> VersionCache:
    """The app's cache (made on first use, with the app's TENANT_VERSIONS_CACHE_SECONDS)."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = VersionCache(app.config["TENANT_VERSIONS_CACHE_SECONDS"])
    return found
