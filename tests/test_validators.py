"""Phone numbers, e-mail addresses and web addresses: one validator each, in every form that has
such a field, and only http(s) addresses ever become a link."""

import html
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from regional_loket.accounts.forms import ProfileForm, RegisterForm
from regional_loket.accounts.models import User
from regional_loket.care_requests.forms import FamilyForm
from regional_loket.care_requests.referrer import FileForm
from regional_loket.extensions import db
from regional_loket.families.forms import InviteForm
from regional_loket.provider.forms import ProfileForm as LocationProfileForm
from regional_loket.validators import normalise_http_url, normalise_phone, safe_http_url

from .conftest import host_url, login, translated

PHONE_MESSAGE = "Dit is geen geldig telefoonnummer, bv. 016 12 34 56 of +32 470 12 34 56."
EMAIL_MESSAGE = "Dit is geen geldig e-mailadres, bv. naam@voorbeeld.be."
URL_MESSAGE = "Geef een webadres dat begint met https:// of http://, bv. https://www.voorbeeld.be."
BAD_PHONE, BAD_EMAIL, BAD_URL = PHONE_MESSAGE[:33], EMAIL_MESSAGE[:31], URL_MESSAGE[:50]


@pytest.mark.parametrize(("typed", "stored"), [
    ("016 85 30 00", "+32 16 85 30 00"),
    ("016/85.30.00", "+32 16 85 30 00"),
    ("0032 16 85 30 00", "+32 16 85 30 00"),
    ("+32470123456", "+32 470 12 34 56"),
    ("0470 12 34 56", "+32 470 12 34 56"),
    ("+33 1 42 68 53 00", "+33 1 42 68 53 00"),  # a foreign number keeps its country
    ("=1+2", None), ("12", None), ("bel me", None), ("0" * 41, None), ("", None),
])
def test_phone_numbers_are_checked_and_stored_in_one_notation(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(("typed", "stored"), [
    ("https://www.zonnebloem.be/over?x=1#a", "https://www.zonnebloem.be/over?x=1#a"),
    ("HTTP://zonnebloem.be", "http://zonnebloem.be"),
    ("www.zonnebloem.be", "https://www.zonnebloem.be"),
    ("zonnebloem.be:8080/pad", "https://zonnebloem.be:8080/pad"),
    ("javascript:alert(1)", None), ("JavaScript:alert(1)", None), (" javascript:alert(1)", None),
    ("java\tscript:alert(1)", None), ("javascript://zonnebloem.be/%0aalert(1)", None),
    ("data:text/html,<script>alert(1)</script>", None), ("vbscript:msgbox", None), ("mailto:a@b.be", None),
    ("ftp://zonnebloem.be", None), ("//evil.example", None), ("https://user:pw@zonnebloem.be", None),
    ("https://localhost", None), ("https://zonnebloem.be:poort", None), ('https://x.be/"onclick=', None),
    ("https://" + "a" * 300 + ".be", None), ("", None),
])
def test_only_http_addresses_with_a_host_are_web_addresses(typed, stored):
    assert normalise_http_url(typed) == stored


def test_the_render_guard_passes_only_http_addresses():
    assert safe_http_url("https://zonnebloem.be") == "https://zonnebloem.be"
    assert [safe_http_url(v) for v in ("javascript:alert(1)", "data:,x", None, 3, "")] == [None] * 5


# --- every form with such a field uses them -----------------------------------------------


def _validated(app, form_class, data, **form_args):
    with app.test_request_context(method="POST", data=MultiDict(data)):
        form = form_class(meta={"csrf": False}, **form_args)
        form.validate()
        return {name: [str(e) for e in field.errors] for name, field in form._fields.items()}, \
            {name: field.data for name, field in form._fields.items()}


PHONE_FORMS = [(RegisterForm, "phone"), (ProfileForm, "phone"), (FamilyForm, "phone"), (FileForm, "phone"),
               (LocationProfileForm, "phone")]
EMAIL_FORMS = [(RegisterForm, "email"), (InviteForm, "email"), (FileForm, "guardian_email"),
               (LocationProfileForm, "email")]


@pytest.mark.parametrize(("form_class", "name"), PHONE_FORMS)
def test_every_phone_field_is_checked_and_normalised(app, form_class, name):
    errors, _ = _validated(app, form_class, {name: "=1+2"})
    assert any(BAD_PHONE in e for e in errors[name])
    errors, data = _validated(app, form_class, {name: "016/85.30.00"})
    assert errors[name] == [] and data[name] == "+32 16 85 30 00"
    errors, _ = _validated(app, form_class, {name: ""})
    assert errors[name] == []  # not required


@pytest.mark.parametrize(("form_class", "name"), EMAIL_FORMS)
def test_every_email_field_is_checked(app, form_class, name):
    errors, _ = _validated(app, form_class, {name: "=HYPERLINK(x)@"})
    assert any(BAD_EMAIL in e for e in errors[name])
    errors, data = _validated(app, form_class, {name: "Info@Zonnebloem.be"})
    assert errors[name] == [] and data[name] == "info@zonnebloem.be"


def test_the_website_field_takes_only_http_addresses(app):
    errors, _ = _validated(app, LocationProfileForm, {"website": "javascript:alert(document.cookie)"})
    assert any(BAD_URL in e for e in errors["website"])
    errors, data = _validated(app, LocationProfileForm, {"website": "www.zonnebloem.be"})
    assert errors["website"] == [] and data["website"] == "https://www.zonnebloem.be"


def test_the_messages_are_translated(app, client):
    """In the reader's language on the page (passes once the lead merged the catalogs)."""
    client.get("/lang/en", base_url=host_url())
    page = client.post("/registreren", data={"name": "An", "email": "an@", "phone": "=1+2", "language": "nl",
                                             "password": "x", "confirm": "x"}, base_url=host_url())
    body = html.unescape(page.get_data(as_text=True))
    assert translated(app, "en", PHONE_MESSAGE) in body and translated(app, "en", EMAIL_MESSAGE) in body
    assert translated(app, "fr", URL_MESSAGE)


# --- through the pages ----------------------------------------------------------------------


def test_registration_with_a_bad_phone_is_explained_and_writes_nothing(client):
    page = client.post("/registreren", data={
        "name": "An Peeters", "email": "an@example.be", "phone": "=1+2", "language": "nl",
        "password": "fiets naar de crèche om acht", "confirm": "fiets naar de crèche om acht", "consent": "y"},
        base_url=host_url())
    assert page.status_code == 422 and BAD_PHONE in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "an@example.be")) == 0


def test_the_profile_phone_is_stored_normalised(client, make_user):
    user = make_user()
    login(client, user)
    saved = client.post("/account", data={"name": "An", "phone": "0470/12.34.56", "language": "nl"},
                        base_url=host_url())
    assert saved.status_code == 302
    db.session.refresh(user)
    assert user.phone == "+32 470 12 34 56"
    refused = client.post("/account", data={"name": "An", "phone": "=1+2", "language": "nl"}, base_url=host_url())
    assert refused.status_code == 422 and BAD_PHONE in refused.get_data(as_text=True)
    db.session.refresh(user)
    assert user.phone == "+32 470 12 34 56"


@pytest.mark.parametrize("stored", ["javascript:alert(document.cookie)", "data:text/html,x", "JAVASCRIPT:x"])
def test_a_stored_address_of_another_scheme_never_becomes_a_link(client, make_tenant, make_location, stored):
    tenant = make_tenant()
    place = make_location(tenant, website=stored)
    page = client.get(f"/locaties/{place.id}", base_url=host_url(tenant))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert not re.search(r'href="\s*(javascript|data):', body, re.I)


def test_a_stored_http_address_is_a_link(client, make_tenant, make_location):
    tenant = make_tenant()
    place = make_location(tenant, website="https://www.zonnebloem.be")
    body = client.get(f"/locaties/{place.id}", base_url=host_url(tenant)).get_data(as_text=True)
    assert 'href="https://www.zonnebloem.be"' in body
