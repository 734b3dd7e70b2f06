"""Registration, login across the region's hosts, password and e-mail changes, account pages."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_timedelta, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import clock
from ..database import utcnow
from ..extensions import db
from ..tenancy import Hosts, only_on, serves
from ..tenancy import services as tenancy_services
from ..tenancy.resolver import HostKind, classify_host
from ..web.urls import allow_form_action, carry_language, portal_url, safe_next
from . import client_address, forgetters, forms, mail, preferences, services, tokens
from .policy import login_required, public
from .sessions import handover_state, hash_sid, set_handover_state

bp = Blueprint("accounts", __name__, template_folder="templates")
serves(bp, Hosts.ALL)


def _secret() -> list[str]:
    return tokens.keys(current_app.config)


def _to_region():
    """Authentication pages live on the regional host; on a municipal one the host resolver
    answers with this (``only_on``): the same page there, keeping ``next`` as an absolute URL
    of this host, so the user comes back here afterwards."""
    target = request.args.get("next") or "/"
    back = request.host_url.rstrip("/") + safe_next(target, "/")
    return redirect(carry_language(portal_url(None, request.endpoint, **{**request.view_args, "next": back})))


def _own_host_url(url: str | None) -> tuple[str, str] | None:
    """``(host, path)`` when ``url`` is an absolute URL of one of this region's live portals."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    match = classify_host(parts.netloc, current_app.config["REGION_SERVER_NAME"])
    if match.kind is HostKind.UNKNOWN:
        return None
    if match.kind is not HostKind.REGION:
        tenant = tenancy_services.find_tenant(db.session, match)
        if tenant is None or tenant.is_archived:
            return None
    path = safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), "/")
    return parts.netloc.lower(), path


def _url_on(host: str, endpoint: str, **values) -> str:
    """Absolute URL of ``endpoint`` on ``host``, one of the region's own (already checked)."""
    adapter = current_app.url_map.bind(host, url_scheme=current_app.config["PREFERRED_URL_SCHEME"])
    return adapter.build(endpoint, values, force_external=True)


def _allow_handover_to(host: str) -> None:
    """The page's form answers with a hand-over to ``host``: its redirects go back and forth
    between this host ('self') and that one, and chromium checks each against form-action."""
    allow_form_action(f"{current_app.config['PREFERRED_URL_SCHEME']}://{host}")


def _after_login(next_url: str | None):
    target = _own_host_url(next_url)
    if target and target[0] != request.host.lower():
        return redirect(url_for("accounts.go", to=next_url))
    return redirect(safe_next(next_url if not target else target[1], url_for("web.home")))


# --- registration ----------------------------------------------------------------------------


@bp.route("/registreren", methods=["GET", "POST"])
@only_on(Hosts.REGION, elsewhere=_to_region)
@public
def register():
    # E-mails in the language the visitor reads this page in, unless they choose another.
    form = forms.RegisterForm(language=str(get_locale() or "nl"))
    if form.validate_on_submit():
        user, created = services.register(
            db.session, email=form.email.data, password=form.password.data, name=form.name.data,
            language=form.language.data, phone=form.phone.data,
        )
        if created:
            mail.verification(db.session, user, _secret())
        else:
            mail.already_registered(db.session, user)
        db.session.commit()
        return render_template("accounts/check_mail.html", email=services.normalise_email(form.email.data))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 422


@bp.route("/registreren/bevestigen/<token>")
@public
def verify(token: str):
    try:
        payload = tokens.read(_secret(), "verify", token)
    except tokens.TokenError as error:
        return render_template("accounts/token_problem.html", reason=error.reason, resend=True), 400
    user = db.session.get(services.User, uuid.UUID(payload["uid"]))
    if user is None or not services.mark_verified(user, email=payload["email"], now=utcnow()):
        return render_template("accounts/token_problem.html", reason="invalid", resend=True), 400
    db.session.commit()
    flash(_("Uw e-mailadres is bevestigd. U kunt zich nu aanmelden."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/registreren/opnieuw", methods=["GET", "POST"])
@only_on(Hosts.REGION, elsewhere=_to_region)
@public
def resend_verification():
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        user = services.find_user(db.session, form.email.data)
        if user is not None and not user.is_verified and user.is_active:
            mail.verification(db.session, user, _secret())
            db.session.commit()
        return render_template("accounts/check_mail.html", email=services.normalise_email(form.email.data))
    return render_template("accounts/resend.html", form=form), 200 if not form.errors else 422


# --- login and logout ------------------------------------------------------------------------


@bp.route("/aanmelden", methods=["GET", "POST"])
@only_on(Hosts.REGION, elsewhere=_to_region)
@public
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return _after_login(next_url)
    if (target := _own_host_url(next_url)) and target[0] != request.host.lower():
        _allow_handover_to(target[0])
    form = forms.LoginForm()
    problem = None
    if form.validate_on_submit():
        now = clock.now()  # the login's time: a pending "unused account" warning ends with it
        attempt = services.authenticate(db.session, form.email.data, form.password.data,
                                        source=client_address(), now=now)
        if attempt.notify_owner:
            mail.unlock(db.session, attempt.user, _secret())
        db.session.commit()
        if attempt.ok:
            _start_login(attempt.user, remember=form.remember.data)
            return _after_login(next_url)
        if attempt.outcome == "throttled":
            return _throttled(form, next_url, attempt.retry_at - now)
        problem = "unverified" if attempt.outcome == "unverified" else "invalid"
    status = 200 if request.method == "GET" else (422 if form.errors or problem else 200)
    return render_template("accounts/login.html", form=form, problem=problem, next=next_url), status


def _throttled(form, next_url: str | None, wait: timedelta):
    """429 saying when this source may try again (rounded up to the minute, also in
    Retry-After), so nobody is told to come back before the wait is over."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds > 60:
        seconds = math.ceil(seconds / 60) * 60
    response = make_response(render_template(
        "accounts/login.html", form=form, problem="throttled", next=next_url,
        wait=format_timedelta(timedelta(seconds=seconds), threshold=1),
    ), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _start_login(user, *, remember: bool, login_id: uuid.UUID | None = None) -> None:
    """A fresh session id (no fixation) that belongs to this login on every host."""
    session.clear()
    session.regenerate = True
    session.remember = remember
    session.login_id = login_id or uuid.uuid4()
    login_user(user)


@bp.route("/afmelden", methods=["POST"])
@public
def logout():
    form = forms.ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        if session.login_id is not None:
            services.end_login(db.session, session.login_id)
            db.session.commit()
        logout_user()
        session.ended = True
        flash(_("U bent afgemeld."), "success")
    return redirect(url_for("web.home"))


# --- moving between the region's hosts -------------------------------------------------------


@bp.route("/sessie/naar")
@public
def go():
    """Follow a link to another portal of the region, taking the login along.

    The login may only land in the browser that asked for it (else an attacker could have a
    victim's browser open a link that logs it in as the attacker). So: here → the target's
    hand-over page, which gives this browser a random state cookie → back here with the state's
    hash → the target again with a token bound to that hash, which it checks against the cookie.
    """
    target = _own_host_url(request.args.get("to"))
    if target is None:
        abort(400)
    host, path = target
    here = request.host.lower()
    if not current_user.is_authenticated or host == here:
        return redirect(_url_on(host, "web.home").rstrip("/") + path)
    state = request.args.get("state")
    if state is None:
        return redirect(_url_on(host, "accounts.handover", next=path, **{"from": here}))
    if not tokens.is_state_hash(state):
        abort(400)
    token = tokens.make(_secret(), "handover", uid=str(current_user.id), login=str(session.login_id),
                        aud=host, st=state, src=here)
    return redirect(_url_on(host, "accounts.handover", token=token, next=path))


@bp.route("/sessie/overdracht", methods=["GET", "POST"])
@public
def handover():
    """Open this host's session for a login made on another host of the region (see ``go``)."""
    next_url = safe_next(request.args.get("next"), url_for("web.home"))
    if request.method == "POST":
        return _switch_account(next_url)
    if "token" not in request.args:
        return _begin_handover(next_url)
    try:
        payload = tokens.read(_secret(), "handover", request.args.get("token", ""))
        if payload.get("aud") != request.host.lower():
            raise tokens.TokenError("invalid")
        if not tokens.state_matches(handover_state(current_app, request), payload.get("st")):
            raise tokens.TokenError("browser")
        login_id = uuid.UUID(payload["login"])
        if not services.login_alive(db.session, login_id, now=utcnow()):
            raise tokens.TokenError("invalid")
        tokens.consume(db.session, "handover", payload)
        user = db.session.get(services.User, uuid.UUID(payload["uid"]))
        if user is None or not user.is_active:
            raise tokens.TokenError("invalid")
    except (tokens.TokenError, KeyError, ValueError) as error:
        db.session.rollback()
        if getattr(error, "reason", None) == "browser":
            # Opened in another browser (or this one keeps no cookies). No automatic retry: a
            # redirect to the login would come straight back here, again and again.
            return render_template("accounts/handover.html", problem=True, next=next_url), 400
        flash(_("Uw aanmelding kon niet worden overgenomen. Meld u opnieuw aan."), "error")
        return redirect(carry_language(
            portal_url(None, "accounts.login", next=request.host_url.rstrip("/") + next_url)))
    db.session.commit()
    if current_user.is_authenticated and current_user.id != user.id:
        # Someone else is logged in here, in this browser: ask, never replace them silently.
        source = _source_host(payload.get("src"))
        if source is not None:
            _allow_handover_to(source)
        return render_template("accounts/handover.html", form=forms.ConfirmForm(), next=next_url,
                               other=user, source=source)
    _start_login(user, remember=False, login_id=login_id)
    return redirect(next_url)


def _source_host(host: str | None) -> str | None:
    """``host`` when it is another live host of this region (where a hand-over can come from)."""
    target = _own_host_url(f"{request.scheme}://{host}/") if host else None
    return target[0] if target and target[0] != request.host.lower() else None


def _begin_handover(next_url: str):
    """First visit of a hand-over: give this browser its state, then let the source host mint
    a token bound to it."""
    source = _source_host(request.args.get("from"))
    if source is None:
        abort(400)
    state = handover_state(current_app, request) or tokens.new_state()
    response = redirect(_url_on(source, "accounts.go", to=request.host_url.rstrip("/") + next_url,
                                state=tokens.state_hash(state)))
    set_handover_state(current_app, response, state)
    return response


def _switch_account(next_url: str):
    """"Continue as the other account": end this host's session, then hand over again from the
    host where the other login is."""
    form = forms.ConfirmForm()
    source = _source_host(request.form.get("from"))
    if not form.validate_on_submit() or source is None:
        abort(400)
    if current_user.is_authenticated:
        logout_user()
        session.ended = True
    return redirect(_url_on(source, "accounts.go", to=request.host_url.rstrip("/") + next_url))


# --- password reset and unlock ---------------------------------------------------------------


@bp.route("/wachtwoord-vergeten", methods=["GET", "POST"])
@only_on(Hosts.REGION, elsewhere=_to_region)
@public
def forgot_password():
    form = forms.EmailOnlyForm()
    if form.validate_on_submit():
        user = services.find_user(db.session, form.email.data)
        if user is not None and user.is_active:
            mail.reset(db.session, user, _secret())
            db.session.commit()
        # The same answer whether or not the address has an account.
        return render_template("accounts/check_mail.html", email=services.normalise_email(form.email.data),
                               reset=True)
    return render_template("accounts/forgot.html", form=form), 200 if not form.errors else 422


def _reset_user(token: str):
    payload = tokens.read(_secret(), "reset", token)
    user = db.session.get(services.User, uuid.UUID(payload["uid"]))
    if user is None or not user.is_active or payload.get("pw") != services.password_fingerprint(user):
        raise tokens.TokenError("used")
    return user, payload


@bp.route("/wachtwoord-herstellen/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    try:
        user, payload = _reset_user(token)
    except (tokens.TokenError, KeyError, ValueError) as error:
        reason = getattr(error, "reason", "invalid")
        return render_template("accounts/token_problem.html", reason=reason, reset=True), 400
    form = forms.ResetPasswordForm()
    form.account_email, form.account_name = user.email, user.name
    if form.validate_on_submit():
        try:
            tokens.consume(db.session, "reset", payload)
        except tokens.TokenError:
            db.session.rollback()
            return render_template("accounts/token_problem.html", reason="used", reset=True), 400
        services.set_password(db.session, user, form.password.data)
        if not user.is_verified:
            user.verified_at = utcnow()  # the link reached this mailbox
        mail.password_changed(db.session, user)
        db.session.commit()
        flash(_("Uw wachtwoord is gewijzigd. Meld u aan met uw nieuwe wachtwoord."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 200 if not form.errors else 422


@bp.route("/ontgrendelen/<token>")
@public
def unlock(token: str):
    try:
        payload = tokens.read(_secret(), "unlock", token)
        user = db.session.get(services.User, uuid.UUID(payload["uid"]))
        if user is None:
            raise tokens.TokenError("invalid")
        tokens.consume(db.session, "unlock", payload)
    except (tokens.TokenError, KeyError, ValueError) as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", reason=getattr(error, "reason", "invalid")), 400
    services.unlock(db.session, user)
    db.session.commit()
    flash(_("De wachttijd is opgeheven. U kunt zich opnieuw aanmelden."), "success")
    return redirect(url_for("accounts.login"))


# --- my account ------------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = forms.ProfileForm(obj=user)
    if form.validate_on_submit():
        services.update_profile(user, name=form.name.data, phone=form.phone.data, language=form.language.data)
        db.session.commit()
        flash(_("Uw gegevens zijn bewaard."), "success")
        return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form), 200 if not form.errors else 422


@bp.route("/account/e-mails", methods=["GET", "POST"])
@login_required
def mail_preferences():
    """The optional mails (digests) the person's roles bring, each on or off."""
    user = current_user._get_current_object()
    mails = preferences.applicable(user)
    form = forms.mail_preferences_form(mails, {m.kind: preferences.wants(user, m.kind) for m in mails},
                                       formdata=request.form if request.method == "POST" else None)
    if mails and form.validate_on_submit():
        preferences.set_wanted(user, {m.kind: bool(form[m.kind].data) for m in mails})
        db.session.commit()
        flash(_("Uw keuze is bewaard."), "success")
        return redirect(url_for("accounts.mail_preferences"))
    return render_template("accounts/mail_preferences.html", form=form, mails=mails), 200 if not form.errors else 422


@bp.route("/account/wachtwoord", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user._get_current_object()
    form = forms.ChangePasswordForm()
    form.account_email, form.account_name = user.email, user.name
    if form.validate_on_submit():
        if not services.passwords.verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Uw huidig wachtwoord klopt niet."))
        else:
            services.set_password(db.session, user, form.password.data, keep_session=hash_sid(session.sid))
            mail.password_changed(db.session, user)
            db.session.commit()
            session.regenerate = True
            flash(_("Uw wachtwoord is gewijzigd. Uw andere sessies zijn afgemeld."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/password.html", form=form), 200 if not form.errors else 422


@bp.route("/account/e-mail", methods=["GET", "POST"])
@login_required
def change_email():
    user = current_user._get_current_object()
    form = forms.ChangeEmailForm()
    if form.validate_on_submit():
        if not services.passwords.verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Uw huidig wachtwoord klopt niet."))
        else:
            new = services.normalise_email(form.email.data)
            if new != user.email:
                mail.confirm_new_email(db.session, user, new, _secret())
                db.session.commit()
            return render_template("accounts/check_mail.html", email=new)
    return render_template("accounts/email.html", form=form), 200 if not form.errors else 422


@bp.route("/account/e-mail/bevestigen/<token>")
@public
def confirm_email(token: str):
    try:
        payload = tokens.read(_secret(), "email", token)
        user = db.session.get(services.User, uuid.UUID(payload["uid"]))
        if user is None or not user.is_active:
            raise tokens.TokenError("invalid")
        tokens.consume(db.session, "email", payload)
        old = user.email
        services.change_email(db.session, user, payload["new"])
    except (tokens.TokenError, KeyError, ValueError) as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", reason=getattr(error, "reason", "invalid")), 400
    except services.AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("web.home"))
    mail.email_changed(db.session, user, old)
    db.session.commit()
    flash(_("Uw nieuwe e-mailadres is bevestigd."), "success")
    return redirect(url_for("accounts.profile") if current_user.is_authenticated else url_for("accounts.login"))


@bp.route("/account/sessies", methods=["GET", "POST"])
@login_required
def sessions():
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        services.revoke_sessions(db.session, current_user.id)
        db.session.commit()
        logout_user()
        session.ended = True
        flash(_("U bent overal afgemeld."), "success")
        return redirect(url_for("web.home"))
    rows = services.list_sessions(db.session, current_user.id, now=utcnow())
    return render_template("accounts/sessions.html", rows=rows, form=form,
                           current=hash_sid(session.sid) if session.sid else None)


@bp.route("/account/verwijderen", methods=["GET", "POST"])
@login_required
def delete_account():
    user = current_user._get_current_object()
    form = forms.DeleteAccountForm()
    if form.validate_on_submit():
        if not services.passwords.verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Uw huidig wachtwoord klopt niet."))
        elif services.is_last_active_admin(db.session, user):
            form.current.errors.append(services.LastAdminError().message)
        else:
            email, language = user.email, user.language
            for forget in forgetters(current_app):  # the family domain decides what of it stays
                forget(db.session, user.id, now=utcnow())
            services.delete_account(db.session, user, now=utcnow())
            mail.account_deleted(db.session, email=email, language=language, user_id=user.id)
            db.session.commit()
            logout_user()
            session.ended = True
            flash(_("Uw account is verwijderd."), "success")
            return redirect(url_for("web.home"))
    return render_template("accounts/delete.html", form=form), 200 if not form.errors else 422
