"""Flask-Mail on asyncflask, set up as its documentation shows (``Mail(app)``,
``Message``, ``mail.send``), with the sent mail captured by
``mail.record_messages()``: sent from ``async def`` views (a body rendered
from a template, an attachment), from a worker thread, and from a plain
``def`` view."""

from __future__ import annotations

import typing as t

import anyio
import pytest
from flask_mail import Mail, Message

from asyncflask import Flask, render_template_string, request


@pytest.fixture
def mail_app() -> tuple[Flask, Mail]:
    app = Flask("mailapp")
    app.config.update(
        TESTING=True,  # MAIL_SUPPRESS_SEND follows it: nothing leaves the process
        MAIL_SERVER="smtp.example.com",
        MAIL_DEFAULT_SENDER=("Shop", "shop@example.com"),
    )
    mail = Mail(app)

    @app.post("/welcome")
    async def welcome() -> t.Any:
        form = await request.form
        msg = Message("Welcome", recipients=[form["email"]])
        msg.body = f"Hello {form['name']}"
        msg.html = await render_template_string("<b>Hello {{ name }}</b>", name=form["name"])
        msg.attach("terms.txt", "text/plain", b"Be nice.")
        mail.send(msg)
        return {"sent": msg.subject}, 202

    @app.post("/threaded")
    async def threaded() -> t.Any:
        msg = Message("Receipt", recipients=["buyer@example.com"], body="Thanks")
        # SMTP blocks: send from a worker thread (the app context goes with it)
        await anyio.to_thread.run_sync(mail.send, msg)
        return "queued"

    @app.post("/plain")
    def plain() -> t.Any:
        mail.send_message("Plain", recipients=[request.form["to"]], body="from a def view")
        return "sent"

    return app, mail


async def test_send_in_an_async_view(mail_app: tuple[Flask, Mail]) -> None:
    app, mail = mail_app
    async with app.test_client() as client:
        with mail.record_messages() as outbox:
            r = await client.post("/welcome", data={"email": "ada@example.com", "name": "Ada"})
            assert (r.status_code, r.get_json()) == (202, {"sent": "Welcome"})
    [msg] = outbox
    assert msg.recipients == ["ada@example.com"]
    assert msg.sender == "Shop <shop@example.com>"
    assert (msg.body, msg.html) == ("Hello Ada", "<b>Hello Ada</b>")
    [attachment] = msg.attachments
    assert (attachment.filename, attachment.data) == ("terms.txt", b"Be nice.")
    with app.app_context():
        text = msg.as_string()
    assert "Subject: Welcome\r\n" in text
    assert "From: =?utf-8?q?Shop?= <shop@example.com>\r\n" in text
    assert "To: ada@example.com\r\n" in text


async def test_send_from_a_worker_thread_and_a_plain_view(mail_app: tuple[Flask, Mail]) -> None:
    app, mail = mail_app
    async with app.test_client() as client:
        with mail.record_messages() as outbox:
            assert (await client.post("/threaded")).text == "queued"
            assert (await client.post("/plain", data={"to": "bob@example.com"})).text == "sent"
    assert [(m.subject, m.recipients, m.body) for m in outbox] == [
        ("Receipt", ["buyer@example.com"], "Thanks"),
        ("Plain", ["bob@example.com"], "from a def view"),
    ]
