"""Server-side sessions, one host-only cookie per host.

The cookie carries 256 random bits; the row is found by their SHA-256. Logging out, a password
change or an administrator's revocation deletes rows, which ends those sessions on every host at
once. No cookie is ever set for the parent domain: a municipality's custom domain can never read
another host's session.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask import Flask, Request, Response
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import CallbackDict

from ..database import DATABASE_UNAVAILABLE, utcnow
from ..extensions import db
from .models import ServerSession, User

IDLE = timedelta(hours=12)
REMEMBER = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)  # write last_seen_at at most this often
_serializer = TaggedJSONSerializer()


def hash_sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Session(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid: str | None = None, row=None):
        def on_update(this):
            this.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.row = row  # the stored row's columns when loaded, else None
        self.modified = False
        self.regenerate = False  # a new id at the next save (login: no session fixation)
        self.ended = False  # delete the row and the cookie at the next save
        self.login_id: uuid.UUID | None = row.login_id if row is not None else None
        self.remember = bool(row.remember) if row is not None else False
        # The database error that kept the stored session from loading (raised by
        # ``raise_if_unavailable``, where the site's error handlers answer it).
        self.unavailable: Exception | None = None

    @property
    def new(self) -> bool:
        return self.row is None


def cookie_name(app: Flask) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, host-only and
    # for path /: exactly what we want in production. Plain http on *.localhost can't use it.
    return "__Host-session" if app.config.get("SESSION_COOKIE_SECURE") else "session"


HANDOVER_STATE_AGE = timedelta(minutes=2)


def handover_cookie_name(app: Flask) -> str:
    return "__Host-handover" if app.config.get("SESSION_COOKIE_SECURE") else "handover"


def handover_state(app: Flask, request: Request) -> str | None:
    """This browser's hand-over state on this host (see accounts ``handover``), if any."""
    state = request.cookies.get(handover_cookie_name(app))
    return state if state and len(state) <= 128 else None


def set_handover_state(app: Flask, response: Response, state: str) -> None:
    """A host-only random value that only this browser holds: a hand-over token is bound to its
    hash, so a token opened in any other browser is refused (no login CSRF)."""
    response.set_cookie(handover_cookie_name(app), state, max_age=int(HANDOVER_STATE_AGE.total_seconds()),
                        path="/", secure=bool(app.config.get("SESSION_COOKIE_SECURE")), httponly=True,
                        samesite="Lax")


class ServerSessionInterface(SessionInterface):
    serializer = _serializer

    def open_session(self, app: Flask, request: Request) -> Session:
        sid = request.cookies.get(cookie_name(app))
        if not sid or len(sid) > 128:
            return Session()
        try:
            # Read on the request's own unit of work: a session of its own would draw a second
            # pooled connection (with its ping, BEGIN and ROLLBACK: four round trips) on every
            # logged-in request. Reading commits nothing, and the tenant binding that follows
            # retargets the transaction in place. Writes still go through ``_store``.
            # The session's user and memberships come in the same statement: they land in the
            # unit of work's identity map, where the user loader finds them without a query.
            row = db.session.execute(
                select(ServerSession.__table__, User)
                .outerjoin(User, User.id == ServerSession.user_id)
                .options(joinedload(User.memberships))
                .where(
                    ServerSession.id_hash == hash_sid(sid),
                    ServerSession.expires_at > utcnow(),
                    ServerSession.host == request.host.lower(),
                )
            ).unique().first()
        except DATABASE_UNAVAILABLE as error:
            _discard_unit_of_work()
            # Flask opens the session before any handler can answer: an exception here would
            # be a 500 with a traceback. An empty session that re-raises in the first hook
            # lets the outage be answered like everywhere else (503); saving it writes
            # nothing and keeps the cookie.
            session = Session(sid=sid)
            session.unavailable = error
            return session
        if row is None:
            return Session()
        try:
            data = _serializer.loads(row.data)
        except ValueError:
            data = {}
        return Session(data, sid=sid, row=row)

    def save_session(self, app: Flask, session: Session, response: Response) -> None:
        # The view's unit of work is over (what it did not commit, teardown would discard
        # anyway): end it now, so the browser session is stored in a transaction of its own
        # that never interleaves with it.
        db.session.close()
        name = cookie_name(app)
        options = {
            "path": "/",
            "secure": bool(app.config.get("SESSION_COOKIE_SECURE")),
            "httponly": True,
            "samesite": "Lax",
        }
        now = utcnow()
        if session.ended or (not session and not session.new and session.modified):
            if session.row is not None:
                _delete(hash_sid(session.sid))
            if session.sid or session.ended:
                response.delete_cookie(name, path="/", secure=options["secure"], httponly=True, samesite="Lax")
            return
        if not session:
            return  # nothing worth storing for an anonymous visitor

        from flask import request  # the host this session belongs to

        lifetime = REMEMBER if session.remember else IDLE
        user_id = session.get("_user_id")
        values = {
            "user_id": uuid.UUID(user_id) if user_id else None,
            "login_id": session.login_id,
            "data": _serializer.dumps(dict(session)),
            "remember": session.remember,
            "last_seen_at": now,
            "expires_at": now + lifetime,
        }
        if session.new or session.regenerate:
            if session.row is not None:
                _delete(hash_sid(session.sid))
            session.sid = secrets.token_urlsafe(32)
            with _store() as store:
                store.execute(insert(ServerSession.__table__).values(
                    id_hash=hash_sid(session.sid), host=request.host.lower(), created_at=now,
                    user_agent=(request.user_agent.string or "")[:200], **values))
                store.commit()
        elif session.modified or now - session.row.last_seen_at > TOUCH_EVERY:
            with _store() as store:
                store.execute(
                    update(ServerSession.__table__)
                    .where(ServerSession.id_hash == hash_sid(session.sid))
                    .values(**values)
                )
                store.commit()
        else:
            return
        response.set_cookie(
            name, session.sid,
            max_age=int(lifetime.total_seconds()) if session.remember else None,
            **options,
        )
        response.vary.add("Cookie")


def raise_if_unavailable() -> None:
    """A before-request hook: the stored session could not be read, so the request cannot be
    served as whoever it comes from."""
    from flask import session

    if getattr(session, "unavailable", None) is not None:
        raise session.unavailable


def _discard_unit_of_work() -> None:
    """After a failed read the request's session may hold a broken transaction: drop it, so
    that the outage is answered by the first hook (503), not by a confusing follow-up error."""
    try:
        db.session.close()
    except DATABASE_UNAVAILABLE:
        pass


def _store():
    """A session of its own: storing the browser session never commits (or rolls back) the
    request's unit of work, whatever state the view left it in."""
    return db.session.session_factory()


def _delete(id_hash: str) -> None:
    with _store() as store:
        store.execute(delete(ServerSession.__table__).where(ServerSession.id_hash == id_hash))
        store.commit()
