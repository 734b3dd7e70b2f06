"""``flask translate …``: extract, update and compile the message catalogs (nl is the source)."""

from __future__ import annotations

import subprocess
import sys

import click
from flask import Flask

from .settings import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
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
    """Extract messages and merge them into every catalog."""
    extract()
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching")
    POT.unlink()


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
