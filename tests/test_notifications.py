"""The outbox: a notification exists exactly when its transaction commits, is mailed once in
the recipient's language, and survives a mail server that is down."""

import uuid
from email.utils import parseaddr

import pytest
import sqlalchemy as sa

from regional_loket import jobs
from regional_loket.extensions import db
from regional_loket.notifications import jobs as delivery
from regional_loket.notifications.models import Notification
from regional_loket.notifications.services import notify, recipient_language, render

from .conftest import free_port, host_url, work_burst

NOTICE = {
    "subject": "Nieuwe openingsuren",
    "heading": "Het loket verhuist",
    "paragraphs": ["Vanaf 1 maart vindt u ons in het gemeentehuis.", "Tot dan!"],
    "action_url": "https://loket.test/nieuws",
    "action_label": "Lees meer",
    "name": "An",
}


def address():
    return f"ouder-{uuid.uuid4().hex[:10]}@example.be"


def add(session=None, *, email=None, language="nl", key=None, data=None, **extra):
    return notify(
        session or db.session, recipient_email=email or address(), language=language,
        template="notice", data=NOTICE if data is None else data,
        idempotency_key=key or f"test:{uuid.uuid4()}", **extra,
    )


def rows(key=None):
    query = sa.select(Notification)
    if key is not None:
        query = query.where(Notification.idempotency_key == key)
    return db.session.scalars(query).all()


def fresh(app, notification_id):
    with app.app_context():
        row = db.session.get(Notification, notification_id)
        db.session.expunge(row)
        return row


# --- the outbox follows the caller's transaction -----------------------------------------


def test_rollback_leaves_no_row_and_no_job(outbox_app):
    with outbox_app.app_context():
        key = f"test:{uuid.uuid4()}"
        add(key=key)
        db.session.rollback()
        assert rows(key) == []
    assert jobs.queue(outbox_app).count == 0


def test_commit_adds_one_row_and_enqueues_one_delivery(outbox_app):
    with outbox_app.app_context():
        notification = add()
        notification_id = notification.id
        assert jobs.queue(outbox_app).count == 0  # nothing before the commit
        db.session.commit()
        [row] = rows(notification.idempotency_key)
        assert (row.state, row.attempts, row.language) == ("pending", 0, "nl")
        assert row.next_attempt_at is not None
    assert jobs.queue(outbox_app).job_ids == [f"deliver-{notification_id}"]


def test_same_idempotency_key_adds_nothing_the_second_time(outbox_app):
    key = f"test:{uuid.uuid4()}"
    with outbox_app.app_context():
        first = add(key=key)
        assert add(key=key) is None  # same transaction
        db.session.commit()
        assert add(key=key) is None  # a later transaction
        db.session.commit()
        assert [r.id for r in rows(key)] == [first.id]
    assert jobs.queue(outbox_app).count == 1


def test_a_rolled_back_savepoint_takes_its_notification_along(outbox_app):
    dropped = f"test:{uuid.uuid4()}"
    with outbox_app.app_context():
        kept = add().id
        savepoint = db.session.begin_nested()
        add(key=dropped)
        savepoint.rollback()
        released = db.session.begin_nested()
        also_kept = add().id
        released.commit()
        db.session.commit()
        assert rows(dropped) == []
    assert sorted(jobs.queue(outbox_app).job_ids) == sorted([f"deliver-{kept}", f"deliver-{also_kept}"])


def test_the_relay_does_not_queue_a_waiting_delivery_twice(outbox_app):
    with outbox_app.app_context():
        add()
        db.session.commit()
    assert delivery.relay(outbox_app) == 1
    assert jobs.queue(outbox_app).count == 1


@pytest.mark.parametrize(("given", "expected"), [("fr", "fr"), ("EN", "en"), ("fr-BE", "fr"),
                                                 ("de", "nl"), ("", "nl"), (None, "nl")])
def test_language_outside_the_platform_falls_back_to_dutch(app, given, expected):
    assert recipient_language(app, given) == expected


def test_notify_stores_the_fallback_language(app):
    assert add(language="de").language == "nl"


@pytest.mark.parametrize("template", ["no_such_template", "../notice", "Notice", ""])
def test_unknown_template_is_a_programming_error(app, template):
    with pytest.raises(ValueError, match="template"):
        notify(db.session, recipient_email=address(), language="nl", template=template, data={},
               idempotency_key=f"test:{uuid.uuid4()}")
    assert rows() == []


@pytest.mark.parametrize("email", ["no-at-sign", "a@b.be\r\nBcc: x@evil.test", "a@b.be, c@d.be"])
def test_malformed_recipient_is_refused(app, email):
    with pytest.raises(ValueError, match="e-mail address"):
        add(email=email)


def test_data_must_be_json(app):
    with pytest.raises(ValueError, match="JSON"):
        add(data={"when": object()})


# --- rendering ---------------------------------------------------------------------------


def test_render_brands_the_mail_with_the_municipality(app, make_tenant):
    make_tenant("herent", name="Herent", colour="#225577")
    notification = add(language="fr", tenant_slug="herent")
    subject, text, html = render(app, notification)
    assert subject == "Nieuwe openingsuren"
    assert text.startswith("Guichet accueil d'enfants Herent\n")
    assert "Guichet accueil d&#39;enfants Herent" in html and "#225577" in html
    assert "Bonjour An," in text and "Cordialement" in text


def test_render_escapes_data_in_html_and_refuses_script_links(app):
    notification = add(data={**NOTICE, "heading": "<script>alert(1)</script>",
                             "action_url": "javascript:alert(1)"})
    subject, text, html = render(app, notification)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html and "javascript:" not in text


def test_subject_is_one_line_whatever_the_data(app):
    notification = add(data={**NOTICE, "subject": "Twee\r\nBcc: x@evil.test"})
    assert render(app, notification)[0] == "Twee Bcc: x@evil.test"


# --- delivery ----------------------------------------------------------------------------

GREETINGS = {
    "nl": ("Regionaal Loket Kinderopvang", "Beste An,", "Met vriendelijke groeten"),
    "fr": ("Guichet régional d'accueil d'enfants", "Bonjour An,", "Cordialement"),
    "en": ("Regional Childcare Desk", "Dear An,", "Kind regards"),
}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_deliver_sends_one_mail_in_the_recipient_language(outbox_app, smtp_server, language):
    email = address()
    with outbox_app.app_context():
        notification = add(email=email, language=language)
        db.session.commit()
        notification_id, key = notification.id, notification.idempotency_key

    assert delivery.deliver(str(notification_id)) == "sent"

    [message] = smtp_server.to(email)
    assert smtp_server.envelopes[-1] == ("noreply@loket.test", [email])
    assert message["To"] == email and message["Subject"] == "Nieuwe openingsuren"
    assert parseaddr(message["From"])[1] == "noreply@loket.test"
    assert message["Content-Language"] == language
    assert message["Message-ID"] == delivery.message_id(key, outbox_app.config["MAIL_FROM"])
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    brand, greeting, closing = GREETINGS[language]
    for part in (text, html.replace("&#39;", "'")):
        assert brand in part and greeting in part and closing in part
        assert "Vanaf 1 maart vindt u ons in het gemeentehuis." in part
        assert "https://loket.test/nieuws" in part
    assert f'<html lang="{language}">' in html

    row = fresh(outbox_app, notification_id)
    assert (row.state, row.attempts, row.last_error) == ("sent", 0, None)
    assert row.sent_at is not None


def test_delivering_twice_sends_once(outbox_app, smtp_server):
    email = address()
    with outbox_app.app_context():
        notification_id = add(email=email).id
        db.session.commit()
    assert delivery.deliver(str(notification_id)) == "sent"
    assert delivery.deliver(str(notification_id)) == "skipped"
    assert len(smtp_server.to(email)) == 1


@pytest.mark.slow
def test_concurrent_deliveries_send_once(outbox_app, smtp_server):
    """The row lock is held through the SMTP conversation: a second job meanwhile skips it."""
    import threading

    email = address()
    with outbox_app.app_context():
        notification_id = add(email=email).id
        db.session.commit()
    smtp_server.delay_first_rcpt()
    outcomes = []
    first = threading.Thread(target=lambda: outcomes.append(delivery.deliver(str(notification_id))))
    first.start()
    try:
        assert smtp_server.rcpt_reached.wait(10)
        assert delivery.deliver(str(notification_id)) == "skipped"
    finally:
        smtp_server.release.set()
        first.join(15)
    assert outcomes == ["sent"]
    assert len(smtp_server.to(email)) == 1


def test_smtp_down_then_up_sends_exactly_once(outbox_app, smtp_server):
    email = address()
    with outbox_app.app_context():
        notification_id = add(email=email).id
        db.session.commit()
    smtp_server.stop()

    assert delivery.deliver(str(notification_id)) == "retry"
    with outbox_app.app_context():
        row = db.session.get(Notification, notification_id)
        assert (row.state, row.attempts) == ("pending", 1)
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        assert db.session.scalar(sa.select(Notification.next_attempt_at > sa.func.now() + sa.text("interval '5 seconds'"))
                                 .where(Notification.id == notification_id))
        db.session.rollback()

    smtp_server.start()
    jobs.queue(outbox_app).empty()
    assert delivery.relay(outbox_app) == 0  # not due yet: the backoff holds
    assert delivery.deliver(str(notification_id)) == "skipped"  # neither does a stray job

    with outbox_app.app_context():
        db.session.execute(sa.update(Notification).where(Notification.id == notification_id)
                           .values(next_attempt_at=sa.func.now()))
        db.session.commit()
    assert delivery.relay(outbox_app) == 1
    work_burst(outbox_app)

    assert len(smtp_server.to(email)) == 1
    row = fresh(outbox_app, notification_id)
    assert (row.state, row.attempts) == ("sent", 1)


def test_gives_up_after_the_last_attempt(outbox_app, smtp_server):
    with outbox_app.app_context():
        notification_id = add().id
        db.session.execute(sa.update(Notification).where(Notification.id == notification_id)
                           .values(attempts=delivery.MAX_ATTEMPTS - 1))
        db.session.commit()
    smtp_server.stop()
    assert delivery.deliver(str(notification_id)) == "failed"
    row = fresh(outbox_app, notification_id)
    assert (row.state, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert delivery.relay(outbox_app) == 0


def test_backoff_grows_and_stays_bounded():
    delays = [delivery.backoff(n).total_seconds() for n in range(1, delivery.MAX_ATTEMPTS + 3)]
    assert delays[0] == 10 and delays == sorted(delays) and delays[-1] == delivery.BACKOFF_SECONDS[-1]


def test_without_an_smtp_server_the_mail_waits(make_outbox_app, smtp_server):
    app = make_outbox_app(SMTP_HOST=None)
    with app.app_context():
        notification_id = add().id
        db.session.commit()
    assert delivery.deliver(str(notification_id)) == "pending"
    row = fresh(app, notification_id)
    assert (row.state, row.attempts, row.last_error) == ("pending", 0, "no SMTP server configured")
    assert smtp_server.messages == []


def test_deliver_ignores_what_is_not_a_notification(outbox_app):
    assert delivery.deliver("not-a-uuid") == "skipped"
    assert delivery.deliver(str(uuid.uuid4())) == "skipped"


# --- operators ----------------------------------------------------------------------------


def test_cli_lists_and_relays_the_outbox(outbox_app):
    email = address()
    with outbox_app.app_context():
        add(email=email)
        db.session.commit()
    jobs.queue(outbox_app).empty()
    runner = outbox_app.test_cli_runner()
    listed = runner.invoke(args=["notifications", "list", "--state", "pending"])
    assert listed.exit_code == 0, listed.output
    assert email in listed.output and "notice" in listed.output
    relayed = runner.invoke(args=["notifications", "relay"])
    assert relayed.exit_code == 0 and "enqueued: 1" in relayed.output
    assert runner.invoke(args=["notifications", "list", "--state", "bogus"]).exit_code == 2


def test_migration_matches_the_model(app):
    """shared_0003 creates what the model declares (columns, constraints, index)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def only_notifications(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is not None and table.name == "notifications"

    context = MigrationContext.configure(db.session.connection(), opts={
        "include_schemas": True, "include_object": only_notifications, "compare_type": True,
        "compare_server_default": False,
    })
    assert compare_metadata(context, db.metadata) == []


# --- the development mail sink and /dev/mailbox -------------------------------------------


@pytest.fixture
def mailbox(tmp_path):
    from regional_loket.dev import mailsink

    port = free_port()
    controller = mailsink.start(tmp_path / "mailbox", port=port)
    yield {"port": port, "dir": tmp_path / "mailbox"}
    controller.stop()


def test_mail_sink_stores_mail_that_the_dev_mailbox_shows(make_outbox_app, mailbox):
    app = make_outbox_app(SMTP_PORT=mailbox["port"], MAILBOX_DIR=str(mailbox["dir"]))
    email = address()
    with app.app_context():
        notification_id = add(email=email, language="en").id
        db.session.commit()
    assert delivery.deliver(str(notification_id)) == "sent"
    [stored] = list(mailbox["dir"].glob("*.eml"))

    client = app.test_client()
    index = client.get("/dev/mailbox/", base_url=host_url())
    assert index.status_code == 200
    page = index.get_data(as_text=True)
    assert email in page and "Nieuwe openingsuren" in page

    shown = client.get(f"/dev/mailbox/{stored.name}", base_url=host_url())
    assert shown.status_code == 200 and "Kind regards" in shown.get_data(as_text=True)
    download = client.get(f"/dev/mailbox/{stored.name}/html", base_url=host_url())
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "<html" in download.get_data(as_text=True)
    assert client.get("/dev/mailbox/..%2Fsecret.eml", base_url=host_url()).status_code == 404
    assert client.get("/dev/mailbox/nothing.eml", base_url=host_url()).status_code == 404


def test_dev_mailbox_is_never_registered_in_production(make_outbox_app, tmp_path):
    app = make_outbox_app(ENV="production", MAILBOX_DIR=str(tmp_path), SESSION_COOKIE_SECURE=False)
    assert "dev_mailbox.index" not in app.view_functions



# --- retention -----------------------------------------------------------------------------


def test_finished_notifications_are_purged_after_the_retention_period(outbox_app):
    from datetime import timedelta

    from regional_loket.database import utcnow
    from regional_loket.notifications import jobs as notification_jobs

    long_ago = utcnow() - timedelta(days=outbox_app.config["NOTIFICATION_RETENTION_DAYS"] + 10)
    recently = utcnow() - timedelta(days=10)
    with outbox_app.app_context():
        made = {name: add() for name in ("old_sent", "recent_sent", "old_failed", "old_pending")}
        db.session.flush()
        for name, (state, sent_at, touched) in {
            "old_sent": ("sent", long_ago, long_ago), "recent_sent": ("sent", recently, recently),
            "old_failed": ("failed", None, long_ago), "old_pending": ("pending", None, long_ago),
        }.items():
            made[name].state, made[name].sent_at, made[name].updated_at = state, sent_at, touched
        db.session.commit()
        keys = {name: n.idempotency_key for name, n in made.items()}

    result = outbox_app.test_cli_runner().invoke(args=["notifications", "purge"])
    assert result.exit_code == 0 and result.output.startswith("purged: "), result.output
    assert int(result.output.split()[1]) >= 2
    with outbox_app.app_context():
        left = {name for name, key in keys.items() if rows(key)}
    # Delivered or given up long ago: gone. Recent, or still to be delivered: kept.
    assert left == {"recent_sent", "old_pending"}
    assert notification_jobs.purge(outbox_app) == 0  # nothing more to do


def test_the_purge_runs_on_the_schedule(outbox_app):
    from regional_loket import jobs as job_plumbing

    periodic = {job_id: every for job_id, _, every in job_plumbing._state(outbox_app).periodic}
    assert periodic["periodic-purge_old_notifications"] == 3600
