"""Profile: where an uncached, distinct search goes, in process (issue #17 item 2).

    .venv/bin/python bench/profile_distinct.py [--tenants 285] [--locations 6000] [--requests 300]
                                               [--warm 20] [--top 30] [--logged-in] [--keep]
                                               [--database NAME] [--redis-url URL]

The region of ``bench/search_distinct.py`` (``search.build``), the app as the server runs it but
without the answer cache (``search.app_config``: ``SEARCH_CACHE_BYTES=0``, the search index on),
and ``--requests`` distinct URLs each of the search page and of the API drawn by
``search_distinct.family_search``, anonymous; ``--logged-in`` adds the page for the bench parent,
logged in through the form. ``--warm`` other URLs go first, unmeasured (templates compiled, the
snapshot built, fragments made). Prints the mean time per request (a second, unprofiled pass)
and cProfile's top functions, cumulative and own time, per kind.

``--keep`` leaves the scratch database in place and prints its name; ``--database NAME`` uses
such a database again instead of building one (and drops it at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import sys
import time

import sqlalchemy as sa
from _common import PASSWORD, ScratchDatabase, admin_url, make_user, run_main
from search import API, DEFAULT_REDIS, PAGE, REGION_NAME, BenchError, RegionFacts, build, in_process
from search_distinct import PARENT_EMAIL, paths

from regional_loket.accounts.models import User
from regional_loket.extensions import db


def logged_in_client(app):
    """A test client with the bench parent logged in as a browser does (form, CSRF token)."""
    with app.app_context():
        if db.session.scalar(sa.select(User.id).where(User.email == PARENT_EMAIL)) is None:
            make_user(db.session, name="Ouder Bench", email=PARENT_EMAIL)
            db.session.commit()
        db.session.remove()
    client = app.test_client()
    form = client.get("/aanmelden", base_url=f"http://{REGION_NAME}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    response = client.post("/aanmelden", base_url=f"http://{REGION_NAME}", data={
        "csrf_token": token.group(1) if token else "", "email": PARENT_EMAIL, "password": PASSWORD})
    if response.status_code != 302:
        raise BenchError(f"login answered {response.status_code}")
    return client


def profile_kind(app, urls: list[str], warm: list[str], top: int, client=None) -> tuple[float, str]:
    client = client or app.test_client()
    for url in warm:  # templates compiled, snapshot built, connections open, fragments made
        client.get(url, base_url=f"http://{REGION_NAME}")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    for url in urls:
        profiler.enable()
        response = client.get(url, base_url=f"http://{REGION_NAME}")
        profiler.disable()
        if response.status_code not in (200, 400):
            raise BenchError(f"{url}: {response.status_code}")
    # Wall time without the profiler's overhead: a second pass over the same URLs.
    started = time.perf_counter()
    for url in urls:
        client.get(url, base_url=f"http://{REGION_NAME}")
    mean = (time.perf_counter() - started) / len(urls)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return mean, out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=285)
    parser.add_argument("--locations", type=int, default=6000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warm", type=int, default=20, help="untimed requests first, other URLs (default 20)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--logged-in", action="store_true", help="also the page for a logged-in parent")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    scratch = ScratchDatabase(admin_url(args.database_url), name=args.database)
    if not args.database:
        scratch.__enter__()
    try:
        if args.database:
            facts = RegionFacts("big", args.tenants, 0, database=scratch.name, url=scratch.url)
        else:
            facts = build(scratch, "big", args.tenants, max(1, round(args.locations / args.tenants)), args.redis_url)
        with in_process(facts, args.redis_url) as app:
            with app.app_context():
                count = db.session.scalar(sa.text("SELECT count(*) FROM shared.catalog_locations"))
            print(f"{scratch.name}: {count} locations")
            kinds = [("page", PAGE, None), ("api", API, None)]
            if args.logged_in:
                kinds.append(("page, logged in", PAGE, logged_in_client(app)))
            for kind, path, client in kinds:
                urls = paths(path, args.tenants, args.requests, f"profile:{kind}")
                warm = paths(path, args.tenants, args.warm, f"profile:{kind}:warm-up")
                mean, text = profile_kind(app, urls, warm, args.top, client)
                print(f"\n## {kind}: {args.requests} distinct URLs, mean {mean * 1000:.2f} ms per request "
                      f"(unprofiled pass)\n")
                print(text)
    finally:
        if args.keep:
            print(f"kept scratch database {scratch.name}", file=sys.stderr)
        else:
            scratch.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    run_main(main, "profile_distinct.py")
