"""``flask translate …``: extract, update and compile the message catalogs (nl is the source)."""

from __future__ import annotations

import subprocess
import sys

import click
from babel.messages.pofile import read_po, write_po
from flask import Flask

from .languages import DEFAULT as SOURCE_LANGUAGE
from .resources import resource_path
from .settings import PROJECT_ROOT

TRANSLATIONS = resource_path("translations")
POT = TRANSLATIONS / "messages.pot"


def init_app(app: Flask) -> None:
    app.cli.add_command(translate)


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    if subprocess.run(command, cwd=PROJECT_ROOT).returncode != 0:
        raise click.ClickException("pybabel " + " ".join(args[:1]) + " failed")


def extract() -> None:
    _pybabel("extract", "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "--no-location",
             "--sort-output", "--project=regional-loket", "-o", str(POT), "regional_loket")


@click.group(help="Translation catalogs (translations/).")
def translate():
    pass


@translate.command("update")
def update_command():
    """Extract messages, merge them into every catalog and fill the Dutch source catalog."""
    extract()
    # The same line width as the source catalog, so an update only shows what changed.
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching",
             "--ignore-obsolete", "--width", "100")
    POT.unlink()
    fill_source_catalog()
    missing = {lang: len(untranslated(lang)) for lang in ("fr", "en")}
    click.echo("untranslated: " + ", ".join(f"{lang} {n}" for lang, n in missing.items()))


def _catalog_path(language: str):
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def fill_source_catalog(language: str = SOURCE_LANGUAGE) -> None:
    """Messages are written in Dutch, so the Dutch catalog translates each to itself."""
    path = _catalog_path(language)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):  # plural: singular and plural, as written
            if not all(message.string):
                message.string = tuple(message.id)
        elif not message.string:
            message.string = message.id
    with path.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, omit_header=False, width=100)


def untranslated(language: str) -> list[str]:
    """Message ids without a translation (or only a fuzzy one) in ``language``'s catalog."""
    with _catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return [
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id and (message.fuzzy or not (all(message.string) if isinstance(message.string, tuple) else message.string))
    ]


@translate.command("compile")
def compile_command():
    """Compile the catalogs (done by make install)."""
    _pybabel("compile", "-d", str(TRANSLATIONS))


@translate.command("init")
@click.argument("language")
def init_command(language):
    """Start a catalog for a new language."""
    extract()
    _pybabel("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", language)
    POT.unlink()
