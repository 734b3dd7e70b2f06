"""Every form field and query parameter against Hypothesis (issue #18, item 3).

What is fuzzed is found, not listed: the POST forms every page of the URL map really shows and,
for rules no page shows a form for, every field of every form class (tests/test_form_fuzz.py's
discovery, reused); the query parameters are the names the views read (``args.get("…")`` in
the source, the worklists' filters) and the fields of every GET form the pages show.

Each field may be kept, left out, repeated, sent as a multipart file part or replaced by a
drawn value: any unicode (right-to-left scripts, combining marks, format and control
characters, NUL), huge strings, the wrong type (numbers, dates, UUIDs where text is asked and
text where numbers are), SQL and HTML fragments. Every answer must be 2xx, 3xx or 4xx (never
5xx), a 4xx HTML page the site's own (translated) error page rather than Werkzeug's English
one, no reflected markup unescaped in any HTML answer, and after a 4xx every table exactly as
before (nothing half-written). Example counts are small per rule; the hostile fragments are
sent to every rule explicitly, whatever Hypothesis draws.

The JSON API is fuzzed against its OpenAPI document by tests/test_api.py (schemathesis,
positive and negative data); the document declares no links, so there is nothing stateful to
follow (test_the_api_document_has_no_links_to_follow below says so, and fails once it has).
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from regional_loket.extensions import db

from .conftest import host_url
from .test_form_fuzz import NOT_COMPARED, _bases, _path, _rules, _targets, _who, site  # noqa: F401 — fixture
from .test_isolation_matrix import EXPECTED_5XX
from .test_requests import world  # noqa: F401 — fixture

PACKAGE = Path(__file__).resolve().parent.parent / "regional_loket"

SCRIPT = "<script>alert(1)</script>"
SVG = '"><svg onload=alert(1)>'
# Markup that must never come back as markup: whatever reflects it must escape it.
REFLECTED = (SCRIPT, "<svg onload=alert(1)>")
SQL = ("' OR 1=1 --", "'; DROP TABLE shared.users; --", '" OR ""="', "1) OR (1=1", "%' AND 1=0 UNION SELECT 1 --")
HOSTILE = (
    *SQL, SCRIPT, SVG, "{{ 7*7 }}", "{% raw %}", "${7*7}", "%s%n%x", "../../../etc/passwd", "//evil.example/x",
    "javascript:alert(1)", "http://evil.example/",
    "\u202eevil\u202c", "\u200f\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627", "e\u0301\u0302\u0303\u0304",
    "Z\u0337\u0327\u034da\u0335l\u0334g\u0336o\u0338", "\ufeff\u200b\u2060", "\u00a0", "\u2028\u2029",
    "\x00", "a\x00b", "\x01\x1f\x7f", "\r\n\r\nX-Injected: 1", "\t",
    "", " ", "-1", "0", "1.5", "-0", "99999999999999999999999999", "1e308", "NaN", "Infinity", "true", "null",
    "[]", "{}", "2026-02-30", "0000-00-00", "9999-12-31", "31/12/2026", "25:61", "00000000-0000-0000-0000-000000000000",
    "not-a-uuid", "\U0001f9f8" * 20,
)


class Huge:
    """A huge string, drawn by its size (Hypothesis would print every character of it)."""

    def __init__(self, text: str, times: int):
        self.text, self.times = text, times

    def __repr__(self):
        return f"{self.text!r} * {self.times}"

    def __str__(self):
        return self.text * self.times


# Long, a field over MAX_FORM_MEMORY_SIZE (64 KiB), a body over MAX_CONTENT_LENGTH (256 KiB).
HUGE = (Huge("x", 10_000), Huge("\u00fc", 40_000), Huge("x", 300_000))

_wrong_types = st.one_of(
    st.integers().map(str), st.floats().map(repr), st.uuids().map(str), st.dates().map(str),
    st.datetimes().map(str), st.booleans().map(str), st.decimals(allow_nan=True).map(str),
)
_unicode = st.one_of(
    st.text(max_size=40),
    # right to left, combining and enclosing marks, format characters
    st.text(st.characters(min_codepoint=0x0590, max_codepoint=0x06FF), max_size=20),
    st.text(st.characters(categories=("Mn", "Me", "Cf", "Zl", "Zp")), max_size=12),
    st.text(st.characters(categories=("Cc",), exclude_characters="\x00"), max_size=6),  # control characters
)
VALUES = st.one_of(st.sampled_from(HOSTILE), _unicode, _wrong_types, st.sampled_from(HUGE))
FUZZ = settings(max_examples=3, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))

# A field of a form: kept as the page had it, left out, repeated, replaced, or sent as a file part.
_mutation = st.one_of(
    st.sampled_from(["keep", "drop"]),
    st.tuples(st.just("set"), VALUES),
    st.tuples(st.just("repeat"), VALUES, VALUES),
    st.tuples(st.just("file"), st.binary(max_size=64)),
)

# Posting these ends the fuzzing client's own login (or account): they go last, so every other
# form is still sent by someone logged in.
SESSION_ENDING = ("accounts.logout", "accounts.sessions", "accounts.delete_account", "accounts.change_password",
                  "accounts.change_email", "families.erase", "admin.revoke", "admin.toggle_active")


# --- checks ------------------------------------------------------------------------------------


def _tables(schemas) -> list[tuple[str, str]]:
    rows = db.session.execute(sa.text(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(:schemas) AND table_type = 'BASE TABLE' ORDER BY 1, 2"), {"schemas": schemas}).all()
    return [tuple(row) for row in rows if tuple(row) not in NOT_COMPARED]


def _fingerprint(tables) -> list[str]:
    """Every row of every table, one digest per table, in one statement (as test_form_fuzz's
    snapshot: reading a dossier is recorded by design, so the audit log's reads are left out)."""
    parts = [f"""SELECT '{schema}.{table}' AS t, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))
                 FROM "{schema}"."{table}" x""" + (" WHERE x.kind <> 'read'" if table == "audit_log" else "")
             for schema, table in tables]
    db.session.expire_all()
    return [f"{name}:{digest}" for name, digest in db.session.execute(sa.text(" UNION ALL ".join(parts))).all()]


def _problems(response, sent: list[str], endpoint: str) -> list[str]:
    """What is wrong with an answer, whatever the input."""
    status, found = response.status_code, []
    if status >= 500 and endpoint not in EXPECTED_5XX:
        found.append(f"{status}")
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        found += [f"{bad!r} unescaped" for bad in REFLECTED if bad in body and any(bad in value for value in sent)]
        if 400 <= status < 500 and "The browser (or proxy) sent a request" in body:
            found.append(f"{status} is Werkzeug's untranslated page")
    return found


def _texts(data) -> list[str]:
    return [value for values in data.values() for value in values if isinstance(value, str)]


# --- POST: every form ----------------------------------------------------------------------------


def _form(fields, mutations):
    data, multipart = {}, False
    for (name, value, _kind), mutation in zip(fields, mutations, strict=True):
        if mutation == "keep":
            data.setdefault(name, []).append(value)
        elif mutation == "drop":
            continue
        elif mutation[0] == "set":
            data.setdefault(name, []).append(str(mutation[1]))
        elif mutation[0] == "repeat":
            data.setdefault(name, []).extend(map(str, mutation[1:]))
        else:  # a file part where the form has a text field
            data.setdefault(name, []).append(FileStorage(io.BytesIO(mutation[1]), filename="veld.txt",
                                                         content_type="text/plain"))
            multipart = True
    return data, multipart


def _ordered(targets):
    return sorted(targets, key=lambda target: (target[0].endpoint in SESSION_ENDING,
                                               SESSION_ENDING.index(target[0].endpoint)
                                               if target[0].endpoint in SESSION_ENDING else 0))


def _fuzz_form(send, fields) -> None:
    @FUZZ
    @given(mutations=st.lists(_mutation, min_size=len(fields), max_size=len(fields)), multipart=st.booleans())
    def fuzz(mutations, multipart):
        data, has_file = _form(fields, mutations)
        send(data, multipart or has_file)

    fuzz()


def test_every_form_field_against_hypothesis(site):  # noqa: F811
    app, schemas = site["app"], site["schemas"]
    tables = _tables(schemas)
    failures, counts = [], {"requests": 0, "refused": 0, "targets": 0}
    endpoints = set()

    def send(rule, who, base, path, data, multipart):
        before = _fingerprint(tables)
        body, kwargs = data, {}
        if multipart:  # encoded in memory: the test client would spool a large body to a file it never closes
            boundary, body = encode_multipart(MultiDict([(name, value) for name, values in data.items()
                                                         for value in values]))
            kwargs = {"content_type": f"multipart/form-data; boundary={boundary}"}
        response = site["clients"][who].post(path, base_url=base, data=body, **kwargs)
        counts["requests"] += 1
        where = f"{who} POST {base}{path} ({rule.endpoint}) {str(data)[:300]}"
        failures.extend(f"{where}: {problem}" for problem in _problems(response, _texts(data), rule.endpoint))
        if 400 <= response.status_code < 500:
            counts["refused"] += 1
            after = _fingerprint(tables)
            changed = sorted(a.split(":")[0] for a, b in zip(before, after, strict=True) if a != b)
            if changed:
                failures.append(f"{where}: {response.status_code} but wrote {changed}")
        response.close()

    for rule, who, base, path, fields in _ordered(list(_targets(site))):
        endpoints.add(rule.endpoint)
        counts["targets"] += 1
        fields = [*fields, ("csrf_token", "", "hidden")] if all(f[0] != "csrf_token" for f in fields) else fields
        # The hostile fragments in every field at once, once each kind, whatever Hypothesis draws.
        for hostile in (SCRIPT, SVG, SQL[0], "\u202e\u05e9e\u0301"):
            send(rule, who, base, path, {name: [hostile] for name, _v, _k in fields}, False)

        _fuzz_form(lambda data, multipart, target=(rule, who, base, path): send(*target, data, multipart), fields)
    print(f"forms: {counts}")
    assert endpoints == {r.endpoint for r in _rules(app, "POST")}
    assert failures == [], "\n".join(failures[:40])


# --- GET: every query parameter --------------------------------------------------------------------


class _GetForms(HTMLParser):
    """The field names of a page's GET forms (the search and filter forms)."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self._inside = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = (attrs.get("method") or "get").lower() == "get"
        elif self._inside and tag in ("input", "select", "textarea") and attrs.get("name"):
            self.names.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


def _names_read_by_the_views() -> set[str]:
    """``args.get("name")`` and ``args.getlist("name")`` anywhere in the package, and the
    worklists' filters (``Filter("name", …)``, read through the list's declaration)."""
    names = set()
    for source in PACKAGE.rglob("*.py"):
        text = source.read_text()
        names.update(re.findall(r"args\.(?:get|getlist)\(\s*[\"']([A-Za-z_]+)[\"']", text))
        names.update(re.findall(r"\bFilter\(\s*\"([A-Za-z_]+)\"", text))
    return names


def _get_targets(site):  # noqa: F811
    """(rule, who, base, path) of every GET rule with its ids, on one host that serves it (the
    municipality's where both do: more of its pages read arguments), and the names any page's
    GET form sends."""
    app, names, targets = site["app"], set(), []
    for rule in _rules(app, "GET"):
        if rule.endpoint.endswith("static") or rule.endpoint == "web.vendor_asset":
            continue  # files: no arguments
        who = _who(getattr(app.view_functions[rule.endpoint], "policy", None))
        base = _bases(site, rule)[-1]
        path = _path(app, rule, site["ids"])
        targets.append((rule, who, base, path))
        page = site["clients"][who].get(path, base_url=base)
        if page.status_code == 200 and page.mimetype == "text/html":
            parser = _GetForms()
            parser.feed(page.get_data(as_text=True))
            names |= parser.names
        page.close()
    return targets, names


def _fuzz_query(get, query_strings) -> None:
    @FUZZ
    @given(pairs=query_strings)
    def fuzz(pairs):
        get([(name, str(value)) for name, value in pairs])

    fuzz()


def test_every_query_parameter_against_hypothesis(site):  # noqa: F811
    targets, form_names = _get_targets(site)
    names = sorted(form_names | _names_read_by_the_views())
    assert {"q", "pagina", "next", "sorteer", "locatie", "gemeente", "maand"} <= set(names)
    failures, sent = [], 0
    query_strings = st.lists(st.tuples(st.one_of(st.sampled_from(names), st.text(max_size=8)), VALUES), max_size=8)

    def get(rule, who, base, path, pairs):
        nonlocal sent
        sent += 1
        response = site["clients"][who].get(path, query_string=pairs, base_url=base)
        where = f"{who} GET {base}{path} ({rule.endpoint}) {str(pairs)[:300]}"
        failures.extend(f"{where}: {problem}" for problem in _problems(response, [v for _n, v in pairs], rule.endpoint))
        response.close()

    for rule, who, base, path in targets:
        for hostile in (SCRIPT, SVG, SQL[0]):
            get(rule, who, base, path, [(name, hostile) for name in names])

        _fuzz_query(lambda pairs, target=(rule, who, base, path): get(*target, pairs), query_strings)
    print(f"query strings: {sent} requests over {len(targets)} rules, {len(names)} parameter names")
    assert sent > 3 * len(targets)
    assert failures == [], "\n".join(failures[:40])


def test_the_api_document_has_no_links_to_follow(client):
    """Stateful testing (schemathesis) follows the document's links; the API is read-only and
    declares none. Once it does, add the state machine to tests/test_api.py."""
    document = json.loads(client.get("/api/v1/openapi.json", base_url=host_url()).get_data(as_text=True))
    responses = [response for item in document["paths"].values() for operation in item.values()
                 if isinstance(operation, dict) for response in operation.get("responses", {}).values()]
    assert responses and not any("links" in response for response in responses)
    assert {method for item in document["paths"].values() for method in item} <= {"get", "parameters"}


@pytest.mark.parametrize("value", [SCRIPT, SVG])
def test_reflected_markup_is_escaped_on_the_search_page(client, value):
    """Pinned: the hostile fragments the sweep sends, where they are reflected most (the search
    field keeps what was typed)."""
    response = client.get("/zoeken", query_string={"q": value}, base_url=host_url())
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert all(bad not in body for bad in REFLECTED)
    assert "&lt;" in body and "alert(1)" in body


def test_targets_are_found_on_both_kinds_of_host(site):  # noqa: F811
    hosts = {urlsplit(base).netloc for _rule, _who, base, _path, _fields in _targets(site)}
    assert len(hosts) == 2


def test_a_refused_multipart_body_leaves_no_file_open(client):
    """Found by the sweep: a file part followed by a field over MAX_FORM_MEMORY_SIZE is refused
    (413) by Werkzeug's parser, which dropped the file it had opened without closing it; the
    app's request class closes every file stream it handed out (web/input.py)."""
    import gc
    import warnings

    boundary, body = encode_multipart(MultiDict([
        ("bestand", FileStorage(io.BytesIO(b"x"), filename="a.txt", content_type="text/plain")),
        ("veld", "\u00fc" * 40_000)]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.post("/aanmelden", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                               base_url=host_url())
        gc.collect()
    assert response.status_code == 413
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_the_checks_see_reflected_markup_a_5xx_and_werkzeugs_page():
    """The sweep's checks themselves: what a finding would look like to them."""
    from flask import Response

    assert _problems(Response(f"<p>{SCRIPT}</p>", mimetype="text/html"), [SCRIPT], "x") == [f"{SCRIPT!r} unescaped"]
    assert _problems(Response("<p>&lt;script&gt;</p>", mimetype="text/html"), [SCRIPT], "x") == []
    assert _problems(Response(SCRIPT, mimetype="application/json"), [SCRIPT], "x") == []  # JSON: as is
    assert _problems(Response("", status=500), [], "x") == ["500"]
    assert _problems(Response("", status=503), [], "observability.readyz") == []
    werkzeug = "<p>The browser (or proxy) sent a request that this server could not understand.</p>"
    assert _problems(Response(werkzeug, status=400, mimetype="text/html"), [], "x") == [
        "400 is Werkzeug's untranslated page"]
