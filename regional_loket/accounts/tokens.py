"""Signed, expiring tokens for links in e-mails and for moving a session between hosts.

Single use is enforced by recording the token's ``jti`` in ``shared.used_tokens`` when it is
consumed, inside the transaction that acts on it.
"""

from __future__ import annotations

import secrets
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
}


class TokenError(ValueError):
    """The token is malformed, forged, expired or already used; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeTimedSerializer(secret, salt=f"regional-loket/{purpose}")


def make(secret: str, purpose: str, **payload) -> str:
    return _serializer(secret, purpose).dumps({**payload, "jti": secrets.token_urlsafe(16)})


def read(secret: str, purpose: str, token: str) -> dict:
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


def consume(session: Session, purpose: str, payload: dict) -> None:
    """Mark the token used, in the caller's transaction; a second use is refused."""
    jti = str(payload.get("jti", ""))[:64]
    if not jti or session.scalar(select(UsedToken.jti).where(UsedToken.jti == jti)):
        raise TokenError("used")
    session.add(UsedToken(jti=jti, purpose=purpose, used_at=utcnow()))
    session.flush()
