"""The built-in email processor against a real SMTP server (aiosmtpd) and a real worker."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pgqueue import JobQueueManager
from pgqueue.config import Settings
from pgqueue.errors import UnrecoverableError
from pgqueue.models import JobState
from pgqueue.processors.email import EmailDeferredError, render_email, send_email
from tests.email_support import (
    CERT,
    CONTEXTS,
    KEY,
    SUBJECTS,
    Mailbox,
    email_finished,
    email_registry,
    message_parts,
)
from tests.helpers import RunWorker, free_port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_from="Platform <noreply@platform.example>",
    )


# --- rendering, no server ----------------------------------------------------------------


# --- sending, a real SMTP server ---------------------------------------------------------


def test_send_writes_headers_and_both_parts(mailbox: Mailbox, mail_settings: Settings) -> None:
    email = render_email(
        "pipeline-complete",
        {
            "to": ["user@example.com", "Admin <admin@example.com>"],
            "context": CONTEXTS["pipeline-complete"],
        },
        mail_settings,
    )
    refused = send_email(email, email.recipients, mail_settings, "<id-1@platform.example>")

    assert refused == {}
    [(rcpt, message)] = mailbox.received()
    assert rcpt == ["user@example.com", "admin@example.com"]
    assert message["From"] == "Platform <noreply@platform.example>"
    assert message["To"] == "user@example.com, Admin <admin@example.com>"
    assert message["Subject"] == "[SUCCESS] Production Deploy — My App"
    assert message["Message-ID"] == "<id-1@platform.example>"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message_parts(message)
    assert "Triggered by: John Doe" in text
    assert '<a href="https://app.example.com/pipelines/123"' in html


def test_send_sorts_replies_into_refused_permanent_and_deferred(
    mailbox: Mailbox, mail_settings: Settings
) -> None:
    mailbox.answer("gone@example.com", "550 5.1.1 No such mailbox")
    mailbox.answer("busy@example.com", "451 4.3.0 Try again later")
    email = render_email(
        "alert",
        {"to": ["gone@example.com", "busy@example.com"], "context": CONTEXTS["alert"]},
        mail_settings,
    )
    refused = send_email(email, email.recipients, mail_settings, "<id-2@platform.example>")
    assert refused == {
        "gone@example.com": (550, "5.1.1 No such mailbox"),
        "busy@example.com": (451, "4.3.0 Try again later"),
    }
    assert mailbox.received() == []


def test_an_unreachable_server_is_a_transient_failure(mail_settings: Settings) -> None:
    closed = dataclasses.replace(mail_settings, smtp_port=free_port())
    email = render_email("alert", {"to": "a@example.com", "context": CONTEXTS["alert"]}, closed)
    with pytest.raises(EmailDeferredError, match="could not send through SMTP server"):
        send_email(email, email.recipients, closed, "<id-3@platform.example>")


# --- end to end, through a worker ---------------------------------------------------------


async def test_a_worker_delivers_each_of_the_guides_email_types(
    manager: JobQueueManager, run_worker: RunWorker, mailbox: Mailbox, mail_settings: Settings
) -> None:
    jobs = {
        email_type: await manager.add_email_job(
            email_type, {"to": f"{email_type}@example.com", "context": CONTEXTS[email_type]}
        )
        for email_type in CONTEXTS
    }
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        finished = {t: await email_finished(manager, job.id) for t, job in jobs.items()}

    for email_type, job in finished.items():
        assert job.state == JobState.COMPLETED, job.failed_reason
        assert job.return_value["accepted"] == [f"{email_type}@example.com"]
        assert job.return_value["subject"] == SUBJECTS[email_type]
    by_rcpt = {rcpt[0]: message for rcpt, message in mailbox.received()}
    assert {k: m["Subject"] for k, m in by_rcpt.items()} == {
        f"{t}@example.com": SUBJECTS[t] for t in CONTEXTS
    }


async def test_the_guides_custom_email_and_several_recipients(
    manager: JobQueueManager, run_worker: RunWorker, mailbox: Mailbox, mail_settings: Settings
) -> None:
    job = await manager.add_job(
        "email",
        "custom-email",
        {
            "to": ["user@example.com", "admin@example.com"],
            "subject": "Custom Email",
            "body": "Hello World",
        },
        priority=1,
        attempts=5,
    )
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.COMPLETED
    assert done.return_value["accepted"] == ["user@example.com", "admin@example.com"]
    [(rcpt, message)] = mailbox.received()
    assert rcpt == ["user@example.com", "admin@example.com"]
    assert message["Subject"] == "Custom Email"
    text, html = message_parts(message)
    assert text.strip() == "Hello World"
    assert "<p" in html and "Hello World" in html


async def test_a_550_fails_the_job_at_once_with_the_servers_reason(
    manager: JobQueueManager, run_worker: RunWorker, mailbox: Mailbox, mail_settings: Settings
) -> None:
    mailbox.answer("nobody@example.com", "550 5.1.1 No such mailbox")
    job = await manager.add_email_job(
        "welcome", {"to": "nobody@example.com", "context": CONTEXTS["welcome"]}, attempts=3
    )
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.FAILED
    assert done.attempts_made == 1
    assert "nobody@example.com: 550 5.1.1 No such mailbox" in done.failed_reason
    assert mailbox.received() == []


async def test_a_451_is_retried_with_backoff_and_then_delivered(
    manager: JobQueueManager, run_worker: RunWorker, mailbox: Mailbox, mail_settings: Settings
) -> None:
    mailbox.answer("busy@example.com", "451 4.3.0 Mailbox busy", times=1)
    job = await manager.add_email_job(
        "welcome",
        {"to": "busy@example.com", "context": CONTEXTS["welcome"]},
        attempts=3,
        backoff={"type": "fixed", "delay": 100},
    )
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.COMPLETED
    assert done.attempts_made == 2
    assert "451 4.3.0 Mailbox busy" in done.stacktrace[0]
    assert [rcpt for rcpt, _ in mailbox.received()] == [["busy@example.com"]]


async def test_a_retry_after_a_partial_deferral_writes_only_to_the_deferred_recipient(
    manager: JobQueueManager, run_worker: RunWorker, mailbox: Mailbox, mail_settings: Settings
) -> None:
    mailbox.answer("busy@example.com", "451 4.3.0 Mailbox busy", times=1)
    mailbox.answer("gone@example.com", "550 5.1.1 No such mailbox")
    job = await manager.add_email_job(
        "alert",
        {
            "to": ["ok@example.com", "busy@example.com", "gone@example.com"],
            "context": CONTEXTS["alert"],
        },
        attempts=3,
        backoff={"type": "fixed", "delay": 100},
    )
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.COMPLETED
    assert done.attempts_made == 2
    assert done.return_value["accepted"] == ["ok@example.com", "busy@example.com"]
    assert done.return_value["rejected"] == {"gone@example.com": "550 5.1.1 No such mailbox"}
    assert [rcpt for rcpt, _ in mailbox.received()] == [["ok@example.com"], ["busy@example.com"]]
    first, second = (message["Message-ID"] for _, message in mailbox.received())
    assert first == second


async def test_an_unreachable_server_spends_every_attempt(
    manager: JobQueueManager, run_worker: RunWorker, mail_settings: Settings
) -> None:
    closed = dataclasses.replace(mail_settings, smtp_port=free_port())
    job = await manager.add_email_job(
        "welcome",
        {"to": "u@example.com", "context": CONTEXTS["welcome"]},
        attempts=2,
        backoff={"type": "fixed", "delay": 50},
    )
    async with run_worker(email_registry(), {"email": 5}, closed):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.FAILED
    assert done.attempts_made == 2
    assert "could not send through SMTP server 127.0.0.1" in done.failed_reason


async def test_an_unknown_email_type_fails_at_once(
    manager: JobQueueManager, run_worker: RunWorker, mail_settings: Settings
) -> None:
    job = await manager.add_job("email", "newsletter", {"to": "u@example.com"}, attempts=3)
    async with run_worker(email_registry(), {"email": 5}, mail_settings):
        done = await email_finished(manager, job.id)

    assert done.state == JobState.FAILED
    assert done.attempts_made == 1
    assert "unknown email type 'newsletter'" in done.failed_reason


# --- TLS and login ------------------------------------------------------------------------


class TlsMailbox(Mailbox):
    """Also records whether each message came over TLS and who logged in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, str | None]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.decode() if session.auth_data else None
        encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object")
        self.sessions.append((bool(encrypted), login))
        return await super().handle_DATA(server, session, envelope)


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


@pytest.fixture
def trusted_test_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server's self-signed certificate is the only CA the client trusts."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))


def _server_tls() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERT, KEY)
    return context


@pytest.mark.usefixtures("trusted_test_ca")
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "smtp-secure"])
def test_tls_as_smtp_secure_says_and_login(settings: Settings, implicit: bool) -> None:
    box = TlsMailbox()
    # aiosmtpd offers AUTH only on a connection it upgraded itself; under implicit TLS the
    # connection is encrypted from the first byte, so it may offer AUTH at once.
    tls: dict[str, Any] = (
        {"ssl_context": _server_tls(), "auth_require_tls": False}
        if implicit
        else {"tls_context": _server_tls()}
    )
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="127.0.0.1",
        require_starttls=not implicit,
        authenticator=_authenticate,
        auth_required=True,
        **tls,
    )
    controller.start()
    try:
        secure = dataclasses.replace(
            settings,
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_secure=implicit,
            smtp_user="mailer",
            smtp_password="s3cret",
        )
        email = render_email("alert", {"to": "a@example.com", "context": CONTEXTS["alert"]}, secure)
        assert send_email(email, email.recipients, secure, "<tls@platform.example>") == {}
        wrong = dataclasses.replace(secure, smtp_password="nope")
        with pytest.raises(UnrecoverableError, match="535"):
            send_email(email, email.recipients, wrong, "<tls-2@platform.example>")
    finally:
        controller.stop()
    assert box.sessions == [(True, "mailer")]
