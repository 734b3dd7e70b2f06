"""Signed, expiring tokens for links in e-mails and for moving a session between hosts.

Single use is enforced by recording the token's ``jti`` in ``shared.used_tokens`` when it is
consumed, inside the transaction that acts on it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import utcnow
from .models import UsedToken

MAX_AGE = {
    "verify": timedelta(days=7),
    "reset": timedelta(hours=1),
    "unlock": timedelta(hours=24),
    "email": timedelta(days=1),
    "handover": timedelta(seconds=30),
    "invite": timedelta(days=14),  # a provider staff invitation (accounts.invitations)
    "confirm": timedelta(days=90),  # a family confirms its request (care_requests.confirmations)
}


class TokenError(ValueError):
    """The token is malformed, forged, expired or already used; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# The signing key, or the keys newest first: the current one signs, every one verifies, so
# rotating SECRET_KEY (the old one kept in SECRET_KEY_FALLBACKS) leaves e-mailed links working.
Secret = str | Sequence[str]


def keys(config: Mapping) -> list[str]:
    """The app's keys for ``make``/``read``: SECRET_KEY, then its fallbacks."""
    return [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]


def _serializer(secret: Secret, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    newest_first = [secret] if isinstance(secret, str) else list(secret)
    # itsdangerous signs with the last key of its list and verifies with all of them.
    return URLSafeTimedSerializer(newest_first[::-1], salt=f"regional-loket/{purpose}")


def make(secret: Secret, purpose: str, **payload) -> str:
    return _serializer(secret, purpose).dumps({**payload, "jti": secrets.token_urlsafe(16)})


def read(secret: Secret, purpose: str, token: str) -> dict:
    if not token or len(token) > 2048:
        raise TokenError("invalid")
    try:
        return _serializer(secret, purpose).loads(
            token, max_age=int(MAX_AGE[purpose].total_seconds())
        )
    except SignatureExpired as exc:
        raise TokenError("expired") from exc
    except BadSignature as exc:
        raise TokenError("invalid") from exc


_STATE_HASH = re.compile(r"[0-9a-f]{64}")


def new_state() -> str:
    """The random value a hand-over's target host keeps in a cookie of this browser."""
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> str:
    """What travels in URLs and in the token: the state itself never leaves its cookie."""
    return hashlib.sha256(state.encode()).hexdigest()


def is_state_hash(value: str | None) -> bool:
    return bool(value) and _STATE_HASH.fullmatch(value) is not None


def state_matches(state: str | None, expected_hash: str | None) -> bool:
    """Whether the browser's state is the one the token was bound to (constant time)."""
    if not state or not is_state_hash(expected_hash):
        return False
    return hmac.compare_digest(state_hash(state), expected_hash)


def is_used(session: Session, payload: dict) -> bool:
    """Whether the token was consumed already (a page that only shows what a link would do)."""
    jti = str(payload.get("jti", ""))[:64]
    return bool(jti) and session.scalar(select(UsedToken.jti).where(UsedToken.jti == jti)) is not None


def consume(session: Session, purpose: str, payload: dict) -> None:
    """Mark the token used, in the caller's transaction; a second use is refused."""
    jti = str(payload.get("jti", ""))[:64]
    if not jti or session.scalar(select(UsedToken.jti).where(UsedToken.jti == jti)):
        raise TokenError("used")
    session.add(UsedToken(jti=jti, purpose=purpose, used_at=utcnow()))
    session.flush()
