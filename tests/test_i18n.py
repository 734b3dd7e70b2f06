"""Every user-facing string goes through gettext; Dutch is the source, French and English are
complete, and the catalogs match the code."""

import html
import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from regional_loket import i18n

from .conftest import host_url

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(language):
    with (i18n.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
         str(i18n.TRANSLATIONS / "babel.cfg"), "-k", "_l", "-o", str(pot), "regional_loket"],
        cwd=i18n.PROJECT_ROOT, check=True,
    )
    with pot.open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_catalog_holds_every_message_of_the_code(extracted, language):
    catalog_ids = {m.id for m in _catalog(language) if m.id}
    missing = extracted - catalog_ids
    assert not missing, f"run 'flask translate update': {sorted(missing)[:5]}"


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_catalog_is_complete(language):
    assert i18n.untranslated(language) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_translations_keep_their_placeholders(language):
    for message in _catalog(language):
        if message.id and isinstance(message.id, str):
            assert set(PLACEHOLDER.findall(message.id)) == set(PLACEHOLDER.findall(message.string)), message.id


@pytest.mark.parametrize(
    ("language", "heading"),
    [("nl", "Kinderopvang in Herent"), ("fr", "Accueil d'enfants à Herent"), ("en", "Childcare in Herent")],
)
def test_pages_follow_the_chosen_language(client, make_tenant, language, heading):
    herent = make_tenant("herent", name="Herent")
    switched = client.get(f"/lang/{language}?next=/", base_url=host_url(herent))
    assert switched.status_code == 302 and switched.headers["Location"] == "/"
    page = html.unescape(client.get("/", base_url=host_url(herent)).get_data(as_text=True))
    assert f'<html lang="{language}"' in page
    assert f">{heading}</h1>" in page


def test_browser_language_is_the_default_and_dutch_the_fallback(client, make_tenant):
    herent = make_tenant("herent", name="Herent")
    french = client.get("/", base_url=host_url(herent), headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert '<html lang="fr"' in french.get_data(as_text=True)
    other = client.get("/", base_url=host_url(herent), headers={"Accept-Language": "de-DE"})
    assert '<html lang="nl"' in other.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/fr", query_string={"next": target}, base_url=host_url())
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_unknown_language_is_not_found(client):
    assert client.get("/lang/de", base_url=host_url()).status_code == 404
