"""A per-worker cache of search answers, emptied the moment the catalog changes.

The search page and the open-data API are what anonymous visitors ask most, and for them the
answer depends only on the host, the URL, the language, the day and the catalog. Every table
those answers read sends ``NOTIFY catalog_changed`` when a writing transaction commits
(migration ``shared_0007``), whichever process wrote it. One listener thread per worker
process hears it and moves the *generation* on; a cached answer is only served for the
generation it was made in. The listener holds one direct connection per process
(``DATABASE_LISTEN_URL``; a transaction-mode pooler cannot carry a LISTEN).

While the listener is not connected the generation is unknown and the cache serves nothing:
it is better slow than stale. What remains is the time the listener thread takes to get
the interpreter after a commit (a few milliseconds), no more than a visitor whose request
started just before the commit sees anyway.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import psycopg
from flask import Flask, current_app, make_response, request
from flask_babel import get_locale
from sqlalchemy.engine import make_url

from .. import clock
from ..database import sqlalchemy_url
from ..settings import ConfigError
from ..web import LANG_COOKIE

log = logging.getLogger(__name__)

CHANNEL = "catalog_changed"
KEEPALIVE_SECONDS = 30.0  # how often an idle listener checks that its connection still works
RETRY_SECONDS = 2.0


class Generation:
    """The catalog generation as this process last heard it; ``None`` while not listening.

    The listener starts on first use in each process, so a gunicorn worker forked from a
    preloaded master gets its own thread and connection."""

    def __init__(self, dsn: str):
        self._dsn = dsn
        self._value: int | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._heard = threading.Condition()

    def current(self) -> int | None:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._pid, self._value = os.getpid(), None
                    threading.Thread(target=self._listen, name="catalog-listener", daemon=True).start()
        return self._value

    def wait_for_change(self, seen: int | None, timeout: float) -> int | None:
        """Block until the generation differs from ``seen`` (or ``timeout``); for tests and tools."""
        self.current()  # starts the listener in this process if need be
        with self._heard:
            self._heard.wait_for(lambda: self._value is not None and self._value != seen, timeout)
            return self._value

    def _set(self, value: int | None) -> None:
        with self._heard:
            self._value = value
            self._heard.notify_all()

    def _listen(self) -> None:
        numbers = itertools.count(1)
        while True:
            try:
                with psycopg.connect(self._dsn, autocommit=True, application_name="catalog-listener") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Listening from here on; whatever was cached before may have been missed.
                    self._set(next(numbers))
                    while True:
                        for _ in conn.notifies(timeout=KEEPALIVE_SECONDS):
                            self._set(next(numbers))
                        conn.execute("SELECT 1")  # a dead connection raises here
            except psycopg.Error as error:
                if self._value is not None:
                    log.warning("catalog listener lost its connection (%s); search cache off until back", error)
                self._set(None)
                threading.Event().wait(RETRY_SECONDS)


@dataclass(frozen=True)
class Entry:
    body: bytes
    headers: tuple[tuple[str, str], ...]


class AnswerCache:
    """Least recently used answers up to ``max_bytes`` of body, all of one generation."""

    def __init__(self, generation: Generation, max_bytes: int):
        self.generation = generation
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._of: int | None = None
        self._lock = threading.Lock()

    def get(self, key: tuple, generation: int) -> Entry | None:
        with self._lock:
            self._follow(generation)
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, generation: int, entry: Entry) -> None:
        if len(entry.body) > self.max_bytes // 8:
            return  # one odd answer must not push out everything else
        with self._lock:
            self._follow(generation)
            old = self._entries.pop(key, None)
            self._bytes += len(entry.body) - (len(old.body) if old else 0)
            self._entries[key] = entry
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)

    def _follow(self, generation: int) -> None:
        if generation != self._of:
            self._entries.clear()
            self._bytes, self._of = 0, generation

    def __len__(self) -> int:
        return len(self._entries)


def listen_dsn(config) -> str:
    """Where the listener connects: DATABASE_LISTEN_URL, else the app's own database.

    A LISTEN lives in a server session, and a transaction-mode pooler (PgBouncer, RDS Proxy)
    hands the server connection to another client once the statement is done: notifications
    then go to whoever holds it, not to the listener, and the cache would serve stale answers
    forever. Behind such a pooler this setting names PostgreSQL itself."""
    url = config.get("DATABASE_LISTEN_URL") or config["DATABASE_URL"]
    try:
        parsed = make_url(sqlalchemy_url(url))
    except ValueError as exc:  # sqlalchemy's ArgumentError is a ValueError too
        raise ConfigError(f"DATABASE_LISTEN_URL is not a PostgreSQL URL: {exc}") from exc
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def init_app(app: Flask) -> Generation | None:
    """The answer cache when configured; the generation (one listener per process) for it and
    for the search index (``index.py``), when either is on."""
    max_bytes = int(app.config.get("SEARCH_CACHE_BYTES") or 0)
    if max_bytes <= 0 and not app.config.get("SEARCH_INDEX"):
        return None
    generation = Generation(listen_dsn(app.config))
    if max_bytes > 0:
        app.extensions["search_cache"] = AnswerCache(generation, max_bytes)
    return generation


def _anonymous() -> bool:
    """No cookie but the language choice: no session, so nothing personal on the page."""
    return all(name == LANG_COOKIE for name in request.cookies)


def cached(view: Callable) -> Callable:
    """Serve the view's 200 answers for anonymous visitors from the cache while the catalog
    is unchanged. Wraps the view only: after-request hooks (security headers) still run."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        cache: AnswerCache | None = current_app.extensions.get("search_cache")
        generation = cache.generation.current() if cache is not None else None
        if generation is None or request.method != "GET" or not _anonymous():
            return view(*args, **kwargs)
        key = (request.host, request.full_path, str(get_locale()), clock.today())
        entry = cache.get(key, generation)
        if entry is None:
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200 and "Set-Cookie" not in response.headers:
                cache.put(key, generation, Entry(response.get_data(), tuple(response.headers.items())))
            return response
        response = current_app.response_class(entry.body, status=200, headers=list(entry.headers))
        # An answer with an ETag is revalidated against If-None-Match on every hit.
        return response.make_conditional(request) if "ETag" in response.headers else response

    return wrapper
