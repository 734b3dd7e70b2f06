"""Build hook: a wheel carries what the platform reads at run time.

``config/``, ``migrations/``, ``translations/`` and ``tenants/`` stay at the top of the repository;
building a wheel copies them into ``regional_loket/_bundle/``, compiles the message catalogs
(.po → .mo) and copies the front-end files named in ``regional_loket.resources.VENDOR_ASSETS``
from ``node_modules/`` (``npm ci`` first). ``regional_loket.resources.resource_path`` finds the
copies when there is no checkout. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# By path, not by import: the package's dependencies are not installed while it is being built.
RESOURCES = runpy.run_path(str(ROOT / "regional_loket" / "resources.py"))


class BuildWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install runs from the checkout, which has the folders themselves
        bundle = Path(self.build_lib) / "regional_loket" / RESOURCES["BUNDLE"].name
        shutil.rmtree(bundle, ignore_errors=True)
        for folder in RESOURCES["DATA_FOLDERS"]:
            # Catalogs ship compiled only; the sources stay in the repository with their tools.
            shutil.copytree(ROOT / folder, bundle / folder,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.po", "*.pot"))
        compile_catalogs(ROOT / "translations", bundle / "translations")
        copy_vendor_assets(ROOT / "node_modules", bundle / "node_modules")


def compile_catalogs(source: Path, target: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalogs = sorted(source.glob("*/LC_MESSAGES/*.po"))
    if not catalogs:
        raise SystemExit(f"no message catalogs under {source}")
    for po in catalogs:
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parts[-3])
        with mo.open("wb") as handle:
            write_mo(handle, catalog)  # fuzzy entries left out, as pybabel compile does


def copy_vendor_assets(node_modules: Path, target: Path) -> None:
    for relative in RESOURCES["VENDOR_ASSETS"].values():
        source = node_modules / relative
        if not source.is_file():
            raise SystemExit(f"{source} is missing: run 'npm ci' before building the wheel")
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)


setup(cmdclass={"build_py": BuildWithData})
