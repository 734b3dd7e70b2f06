"""The account e-mails, written to the outbox in the caller's transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from ..notifications.services import notify
from ..web.urls import portal_url
from . import services, tokens
from .models import User


def _send(session: Session, user: User, template: str, key: str, **data) -> None:
    notify(
        session, recipient_email=user.email, recipient_user_id=user.id, language=user.language,
        template=template, data={"name": user.name, **data}, idempotency_key=key,
    )


def verification(session: Session, user: User, secret: tokens.Secret) -> None:
    token = tokens.make(secret, "verify", uid=str(user.id), email=user.email)
    _send(session, user, "verify_email", f"verify:{user.id}:{uuid.uuid4()}",
          url=portal_url(None, "accounts.verify", token=token))


def already_registered(session: Session, user: User) -> None:
    """Someone tried to register an address that has an account: tell its owner, not them."""
    _send(session, user, "already_registered", f"already:{user.id}:{uuid.uuid4()}",
          login_url=portal_url(None, "accounts.login"),
          reset_url=portal_url(None, "accounts.forgot_password"))


def reset(session: Session, user: User, secret: tokens.Secret) -> None:
    token = tokens.make(secret, "reset", uid=str(user.id), pw=services.password_fingerprint(user))
    _send(session, user, "reset_password", f"reset:{user.id}:{uuid.uuid4()}",
          url=portal_url(None, "accounts.reset_password", token=token))


def unlock(session: Session, user: User, secret: tokens.Secret) -> None:
    token = tokens.make(secret, "unlock", uid=str(user.id))
    _send(session, user, "unlock_account", f"unlock:{user.id}:{uuid.uuid4()}",
          url=portal_url(None, "accounts.unlock", token=token),
          reset_url=portal_url(None, "accounts.forgot_password"))


def password_changed(session: Session, user: User) -> None:
    _send(session, user, "password_changed", f"password:{user.id}:{uuid.uuid4()}",
          reset_url=portal_url(None, "accounts.forgot_password"))


def confirm_new_email(session: Session, user: User, new_email: str, secret: tokens.Secret) -> None:
    token = tokens.make(secret, "email", uid=str(user.id), new=new_email)
    notify(
        session, recipient_email=new_email, recipient_user_id=user.id, language=user.language,
        template="confirm_email", idempotency_key=f"email:{user.id}:{uuid.uuid4()}",
        data={"name": user.name, "url": portal_url(None, "accounts.confirm_email", token=token)},
    )


def email_changed(session: Session, user: User, old_email: str) -> None:
    notify(
        session, recipient_email=old_email, recipient_user_id=user.id, language=user.language,
        template="email_changed", idempotency_key=f"email-changed:{user.id}:{uuid.uuid4()}",
        data={"name": user.name, "new_email": user.email},
    )


def account_deleted(session: Session, *, email: str, language: str, user_id: uuid.UUID) -> None:
    notify(
        session, recipient_email=email, recipient_user_id=user_id, language=language,
        template="account_deleted", idempotency_key=f"deleted:{user_id}", data={},
    )
