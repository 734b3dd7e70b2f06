"""Every form of the app against bad input, found from the URL map (no hand-kept list).

Each rule that accepts POST is sent, on the regional and on a municipal host, as someone who
may reach it: the forms its pages really show (read from the HTML of every GET page), or, for a
rule no page showed a form for, every field name of every form class. Each field in turn gets a
NUL byte, then arrives as a multipart file part; the whole form once as an oversize body; its
number and date fields non-ASCII digits. No answer may be a 5xx, and the database must be
exactly as before (every row of every table but the browser sessions). Every GET rule is also
opened with NUL in its query string.
"""

from __future__ import annotations

import io
import random
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from werkzeug.routing import AnyConverter, UUIDConverter

from regional_loket.accounts.policy import Policy
from regional_loket.extensions import db
from regional_loket.tenancy import Hosts
from regional_loket.tenancy.hosts import rule_for

from .conftest import host_url, login
from .test_requests import _submit, world  # noqa: F401 — fixture

REDIRECTS = (301, 302, 303, 307, 308)
# Written by every request of a logged-in visitor (last_seen_at), whatever its input.
NOT_COMPARED = {("shared", "sessions")}
TEXT_TYPES = {"text", "email", "tel", "password", "search", "url", "hidden", "textarea", "number", "date", "month"}


def on_host(client, tenant, path="/"):
    """Bring a login on the regional host to ``tenant``'s host as a browser would: follow the
    hand-over's redirects, across hosts, whatever steps it takes."""
    base = host_url()
    response = client.get("/sessie/naar", query_string={"to": host_url(tenant) + path}, base_url=base)
    for _ in range(10):
        if response.status_code not in REDIRECTS:
            break
        target = urlsplit(response.headers["Location"])
        base = f"{target.scheme}://{target.netloc}" if target.netloc else base
        response = client.get(target.path + (f"?{target.query}" if target.query else ""), base_url=base)
    return response


# --- the forms a page shows ------------------------------------------------------------------


class _Forms(HTMLParser):
    """The POST forms of a page: action and fields as a browser would send them (one variant per
    named submit button)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            if (attrs.get("method") or "get").lower() == "post":
                self._form = {"action": attrs.get("action") or "", "fields": [], "buttons": [], "radios": {}}
            return
        form, name = self._form, attrs.get("name")
        if form is None or not name:
            return
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "image", "button"):
                form["buttons"].append((name, attrs.get("value") or ""))
            elif kind == "checkbox":
                if "checked" in attrs:
                    form["fields"].append((name, attrs.get("value") or "y", kind))
            elif kind == "radio":
                if "checked" in attrs or name not in form["radios"]:
                    form["radios"][name] = attrs.get("value") or ""
            elif kind != "file":
                form["fields"].append((name, attrs.get("value") or "", kind))
        elif tag == "button" and (attrs.get("type") or "submit") == "submit":
            form["buttons"].append((name, attrs.get("value") or ""))
        elif tag == "textarea":
            self._textarea = [name, ""]
        elif tag == "select":
            self._select = [name, None]
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in attrs:
                self._select[1] = attrs.get("value") or ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        form = self._form
        if form is None:
            return
        if tag == "textarea" and self._textarea:
            form["fields"].append((*self._textarea, "textarea"))
            self._textarea = None
        elif tag == "select" and self._select:
            form["fields"].append((self._select[0], self._select[1] or "", "select"))
            self._select = None
        elif tag == "form":
            fields = form["fields"] + [(n, v, "radio") for n, v in form["radios"].items()]
            for button in form["buttons"] or [None]:
                self.forms.append({"action": form["action"],
                                   "fields": fields + ([(*button, "submit")] if button else [])})
            self._form = None


def _every_form_field() -> list[tuple[str, str, str]]:
    """For a rule no page showed a form for: every field name of every form class, and the
    names views read by hand (``action``)."""
    names, classes = {"action"}, list(FlaskForm.__subclasses__())
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        names.update(name for name, value in vars(cls).items() if hasattr(value, "field_class"))
    return [(name, "1", "text") for name in sorted(names)]


# --- who, where, which ids -------------------------------------------------------------------


@pytest.fixture
def site(app, world, make_user):  # noqa: F811
    """The world of tests/test_requests.py with a submitted request, and a client per role,
    logged in on both hosts."""
    herent, h1 = world["tenants"]["herent"], world["places"]["h1"]
    care = _submit(world, "h1")
    staff = make_user("admin", "coordinator", "provider_staff", tenant=herent, locations=[h1.id])
    referrer = make_user("referrer", organisation="OCMW Herent")
    target = make_user("referrer", organisation="OCMW Leuven")  # whom the admin's forms act on
    membership = next(m for m in target.memberships if m.role == "referrer")
    ids = {"request_id": care.id, "choice_id": care.choices[0].id, "location_id": h1.id,
           "application_id": care.choices[0].application_id, "user_id": target.id, "membership_id": membership.id}
    db.session.flush()
    clients = {"anonymous": app.test_client()}
    for who, user in (("parent", world["parent"]), ("referrer", referrer), ("staff", staff)):
        client = app.test_client()
        assert login(client, user).status_code in REDIRECTS, who
        on_host(client, herent)
        clients[who] = client
    # A failing view answers 500 (as in production) instead of raising into the test: the sweep
    # reports every failure at once.
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        yield {"app": app, "ids": ids, "clients": clients, "bases": (host_url(), host_url(herent)),
               "schemas": ["shared", herent.schema, world["tenants"]["leuven"].schema]}
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate


def _who(policy: Policy | None) -> str:
    if policy is None or policy.kind == "public":
        return "anonymous"
    roles = {str(getattr(r, "value", r)) for r in policy.roles}
    if policy.kind == "login" or "parent" in roles:
        return "parent"
    return "referrer" if roles == {"referrer"} else "staff"


def _path(app, rule, ids) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if name in ids:
            values[name] = ids[name]
        elif isinstance(converter, UUIDConverter):
            values[name] = uuid.uuid4()
        elif name == "fmt":
            values[name] = "csv"
        elif isinstance(converter, AnyConverter):  # an action or a list named in the path
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = "x"
    return app.url_map.bind("x").build(rule.endpoint, values)


def _rules(app, method):
    return [rule for rule in app.url_map.iter_rules() if method in rule.methods and rule.endpoint != "probe"]


def _bases(site, rule):
    """The site's hosts that serve ``rule`` (tenancy.hosts): elsewhere the host resolver answers
    404 before any input is read, which tests/test_hosts.py checks."""
    hosts = rule_for(site["app"], rule.endpoint).hosts
    region, municipality = site["bases"]
    return [base for base, kind in ((region, Hosts.REGION), (municipality, Hosts.MUNICIPALITY)) if kind in hosts]


def _snapshot(schemas) -> dict:
    """Every row of every table (as text, sorted), per table."""
    tables = db.session.execute(sa.text(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(:schemas) AND table_type = 'BASE TABLE'"), {"schemas": schemas}).all()
    return {
        (schema, table): db.session.scalar(sa.text(
            f'SELECT md5(coalesce(string_agg(t::text, \',\' ORDER BY t::text), \'\')) FROM "{schema}"."{table}" t'
            # Reading a dossier is recorded by design (the audit log); refused input changes nothing else.
            + (" WHERE t.kind <> 'read'" if table == "audit_log" else "")))
        for schema, table in tables if (schema, table) not in NOT_COMPARED
    }


def _changed(before, after) -> list:
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


# --- the sweep -------------------------------------------------------------------------------


def _forms_by_endpoint(site) -> dict:
    """Every POST form shown by every GET page, keyed by the endpoint it posts to."""
    app, found = site["app"], {}
    for rule in _rules(app, "GET"):
        if rule.endpoint.endswith("static") or rule.arguments - set(site["ids"]) - {"fmt"}:
            continue  # pages of unknown ids show no form
        view = app.view_functions[rule.endpoint]
        client = site["clients"][_who(getattr(view, "policy", None))]
        path = _path(app, rule, site["ids"])
        for base in _bases(site, rule):
            page = client.get(path, base_url=base)
            if page.status_code != 200 or page.mimetype != "text/html":
                continue
            parser = _Forms()
            parser.feed(page.get_data(as_text=True))
            for form in parser.forms:
                target = urlsplit(form["action"] or path)
                form_base = f"{target.scheme}://{target.netloc}" if target.netloc else base
                try:
                    endpoint, _args = app.url_map.bind(urlsplit(form_base).netloc).match(target.path, method="POST")
                except Exception:  # noqa: BLE001 — a form posting elsewhere is not ours to fuzz
                    continue
                found.setdefault(endpoint, []).append((form_base, target.path, form["fields"]))
    return found


def _targets(site):
    """(who, base, path, fields) for every POST rule: its real forms, else every field name.
    Every form gets the CSRF token's field (the tests run without CSRF, so pages leave it out)."""
    app, forms = site["app"], _forms_by_endpoint(site)
    for rule in _rules(app, "POST"):
        who = _who(getattr(app.view_functions[rule.endpoint], "policy", None))
        shown = forms.get(rule.endpoint)
        if shown:
            seen = set()
            for base, path, fields in shown:
                fields = [*fields, ("csrf_token", "", "hidden")]
                key = (base, path, tuple(fields))
                if key not in seen:
                    seen.add(key)
                    yield rule, who, base, path, fields
        else:
            for base in _bases(site, rule):
                yield rule, who, base, _path(app, rule, site["ids"]), _every_form_field()


def _some(fields, most=8):
    """Each field in turn, but of a long form (the free-places grid: 37 fields alike) a fixed
    sample of each kind: the refusal does not depend on the field."""
    by_kind = {}
    for field in fields:
        by_kind.setdefault(field[2], []).append(field)
    return [field for alike in by_kind.values()
            for field in (alike if len(alike) <= most else random.Random(len(alike)).sample(alike, most))]


def _data(fields, replace=None):
    data = {}
    for name, value, _kind in fields:
        data.setdefault(name, []).append(value)
    if replace:
        data.update(replace)
    return data


NON_ASCII = {"number": "\u0663", "date": "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0661\u0665",
             "month": "\u0662\u0660\u0662\u0666-\u0660\u0661", "digits": "\u00b2"}


def _numeric(name, value, kind) -> str | None:
    if kind in ("number", "date", "month"):
        return kind
    if kind in ("text", "hidden") and value.isascii() and value.isdigit():
        return "digits"
    return None


def test_every_form_refuses_bad_input_without_a_5xx_or_a_write(site):
    app, limit = site["app"], site["app"].config["MAX_CONTENT_LENGTH"]
    failures, sent, endpoints = [], 0, set()

    def send(who, base, path, label, **kwargs):
        nonlocal sent
        sent += 1
        response = site["clients"][who].post(path, base_url=base, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {base}{path} {label}")
        return response

    for rule, who, base, path, fields in list(_targets(site)):
        endpoints.add(rule.endpoint)
        before = _snapshot(site["schemas"])
        for name, value, kind in _some(fields):
            response = send(who, base, path, f"NUL in {name}", data=_data(fields, {name: [value + "\x00x"]}))
            if response.status_code != 400:
                failures.append(f"{response.status_code} (not 400) {base}{path} NUL in {name}")
            if kind in TEXT_TYPES:
                upload = {name: [(io.BytesIO(b"tekst"), "veld.txt")]}
                response = send(who, base, path, f"file part for {name}", data=_data(fields, upload),
                                content_type="multipart/form-data")
                if response.status_code != 400:
                    failures.append(f"{response.status_code} (not 400) {base}{path} file part for {name}")
        response = send(who, base, path, "oversize", data=_data(fields, {"opvulling": ["x" * limit]}))
        if response.status_code != 413:
            failures.append(f"{response.status_code} (not 413) {base}{path} oversize")
        numbers = {name: [NON_ASCII[_numeric(name, value, kind)]] for name, value, kind in fields
                   if _numeric(name, value, kind)}
        if numbers:
            send(who, base, path, f"non-ASCII digits in {sorted(numbers)}", data=_data(fields, numbers))
        db.session.expire_all()
        changed = _changed(before, _snapshot(site["schemas"]))
        if changed:
            failures.append(f"written by {base}{path} ({rule.endpoint}): {changed}")
    assert endpoints == {r.endpoint for r in _rules(app, "POST")}
    assert sent > 100
    assert failures == []


def test_every_get_rule_refuses_nul_in_its_query_string(site):
    app, failures = site["app"], []
    for rule in _rules(app, "GET"):
        who = _who(getattr(app.view_functions[rule.endpoint], "policy", None))
        path = _path(app, rule, site["ids"])
        for base in _bases(site, rule):
            for query in ({"q": "zon\x00", "pagina": "1"}, {"x\x00": "1"}):
                response = site["clients"][who].get(path, query_string=query, base_url=base)
                if response.status_code != 400:
                    failures.append(f"{response.status_code} {base}{path} {query!r}")
    assert failures == []
