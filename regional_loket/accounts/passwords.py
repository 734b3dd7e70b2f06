"""Password hashing (argon2id) and the password rule shown on every form that sets one."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, appcontext_pushed
from flask_babel import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 200
# argon2id; the cost comes from the settings PASSWORD_HASH_* (config/default.py: the library's
# recommended RFC 9106 parameters). Verifying reads the cost from the hash itself, so hashes made
# with other parameters still verify (and are re-hashed at the next login).
_hasher = PasswordHasher()

RULE = _l(
    "Minstens 12 tekens. Een zin van enkele woorden is makkelijk te onthouden en sterk, "
    "bv. 'fiets naar de crèche om acht'. Vermijd bekende wachtwoorden en uw naam of e-mailadres."
)

# The most common passwords and patterns seen in breach corpora; long enough to pass the length
# rule, so the length check alone would let them through.
_COMMON = {
    "123456789012", "1234567890123", "12345678901234", "password1234", "password12345",
    "wachtwoord123", "wachtwoord1234", "motdepasse123", "qwertyuiop12", "qwertyuiopas",
    "azertyuiop12", "azertyuiopqs", "iloveyou1234", "welkom123456", "welcome12345",
    "administrator", "letmein12345", "passwordpassword", "wachtwoordwachtwoord",
    "000000000000", "111111111111", "123123123123", "abcabcabcabc", "abcdefghijkl",
    "qwerty123456", "1q2w3e4r5t6y", "azerty123456", "kinderopvang1", "kinderopvang123",
    "trustno1trustno1", "football1234", "princess1234", "sunshine1234", "monkey123456",
    "zaq12wsxcde3", "1qaz2wsx3edc", "passw0rd1234", "p@ssw0rd1234", "changeme1234",
}
_KEYBOARD_ROWS = ("qwertyuiop", "azertyuiop", "asdfghjkl", "qsdfghjklm", "zxcvbnm", "wxcvbn",
                  "1234567890", "abcdefghijklmnopqrstuvwxyz")


def hasher_for(config) -> PasswordHasher:
    """The argon2id hasher for these settings (a mapping with the PASSWORD_HASH_* keys)."""
    return PasswordHasher(time_cost=config["PASSWORD_HASH_TIME_COST"],
                          memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
                          parallelism=config["PASSWORD_HASH_PARALLELISM"])


def init_app(app: Flask) -> None:
    """Hash with this app's parameters. The hasher is module-level so the services, the CLI and
    the jobs call ``hash_password`` without an app; it follows whichever app's context is pushed,
    so a second app in the same process (tests, bench) never leaves its cost behind for the first."""
    hasher = app.extensions["password_hasher"] = hasher_for(app.config)
    _use(hasher)
    appcontext_pushed.connect(_on_app_context, app, weak=False)


def _on_app_context(app: Flask, **_) -> None:
    _use(app.extensions["password_hasher"])


def _use(hasher: PasswordHasher) -> None:
    global _hasher
    _hasher = hasher


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _is_sequence(text: str) -> bool:
    for row in _KEYBOARD_ROWS:
        for line in (row, row[::-1]):
            if text in line * 3:
                return True
    return False


def problems(password: str, *, email: str = "", name: str = "") -> list:
    """Why ``password`` is refused (translated), or an empty list."""
    if len(password) < MIN_LENGTH:
        return [_l("Uw wachtwoord is te kort: gebruik minstens 12 tekens.")]
    if len(password) > MAX_LENGTH:
        return [_l("Uw wachtwoord is te lang: gebruik hoogstens 200 tekens.")]
    folded = re.sub(r"\s+", "", password.lower())
    local = email.lower().split("@", 1)[0]
    if (
        folded in _COMMON
        or len(set(folded)) <= 3
        or _is_sequence(folded)
        or re.fullmatch(r"(.{1,6})\1+", folded)
    ):
        return [_l("Dit wachtwoord komt voor in lijsten van gekraakte wachtwoorden. Kies een ander.")]
    if (len(local) >= 4 and local in folded) or any(
        len(part) >= 4 and part in folded for part in name.lower().split()
    ):
        return [_l("Gebruik uw naam of e-mailadres niet in uw wachtwoord.")]
    return []
