"""The built-in email processor: the guide's six email types, sent over SMTP.

A job named after an email type renders `email/<type>.subject`, `email/<type>.txt` and
`email/<type>.html` with the job's `context` (a file of the same name under
`PGQUEUE_TEMPLATE_DIR` wins, and a new trio there is a new type). A job of any other name
sends the `subject` and `body` its data carries, as the guide's `custom-email`.

Failures follow the guide's custom retry logic. What the server may get over (no
connection, a timeout, a 4xx reply) fails the attempt, which is retried with backoff.
What no retry can fix (a 5xx reply, a bad address, an unknown type, a context the
template cannot render) raises `UnrecoverableError`: the job fails at once.

A message to several recipients is sent once. When the server defers some recipients
and takes the others, the job's progress records who already has it, so the retry
writes only to the rest.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from jinja2 import Environment, TemplateError, TemplateNotFound, UndefinedError

from pgqueue.config import Settings
from pgqueue.errors import PgQueueError, UnrecoverableError
from pgqueue.models import QueueName
from pgqueue.processors.templates import template_environment
from pgqueue.registry import ANY_NAME, Registry
from pgqueue.worker.job import RunningJob

CONCURRENCY = 5
SMTP_TIMEOUT_SECONDS = 30.0
_TYPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

Refused = dict[str, tuple[int, str]]
"""Recipients the server refused, with its reply code and text."""


class EmailDeferredError(PgQueueError):
    """The server could not take the message now (no connection, a timeout, a 4xx reply):
    the attempt fails and the job is retried with backoff."""


@dataclass(frozen=True)
class Email:
    """A rendered email: `to` as the headers show it, `recipients` as the envelope."""

    to: tuple[str, ...]
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str

    def message(self, sender: str, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = ", ".join(self.to)
        msg["Subject"] = self.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg


# --- rendering -------------------------------------------------------------------------


def _addresses(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`to` as header entries and as bare envelope addresses, or an unrecoverable error."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise UnrecoverableError(
            f"an email job needs `to`: an address or a list of addresses, got {value!r}"
        )
    headers: list[str] = []
    envelope: list[str] = []
    for item in items:
        if not isinstance(item, str) or "\r" in item or "\n" in item:
            raise UnrecoverableError(f"invalid recipient address {item!r}")
        name, address = parseaddr(item)
        local, at, domain = address.rpartition("@")
        if not (at and local and domain) or any(c.isspace() for c in address):
            raise UnrecoverableError(f"invalid recipient address {item!r}")
        if address not in envelope:
            envelope.append(address)
            headers.append(formataddr((name, address)))
    return tuple(headers), tuple(envelope)


def _one_line(text: str) -> str:
    """A header value: a template's or a caller's line breaks must not start new headers."""
    return " ".join(text.split())


def _has_template(env: Environment, email_type: str) -> bool:
    if not _TYPE_NAME.fullmatch(email_type):
        return False
    try:
        env.get_template(f"email/{email_type}.html")
    except TemplateNotFound:
        return False
    return True


def _render(env: Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(context)
    except UndefinedError as exc:
        raise UnrecoverableError(
            f"template {name} needs a context field the job does not give: {exc}"
        ) from exc
    except TemplateError as exc:
        raise UnrecoverableError(f"template {name} cannot be rendered: {exc}") from exc


def _text_field(data: dict[str, Any], field: str) -> str:
    value = data[field]
    if not isinstance(value, str) or not value.strip():
        raise UnrecoverableError(f"email `{field}` must be a non-empty string, got {value!r}")
    return value


def render_email(email_type: str, data: Any, settings: Settings) -> Email:
    """The email a job asks for, or an `UnrecoverableError` saying why there is none."""
    if not isinstance(data, dict):
        raise UnrecoverableError(
            f"email job data must be an object with `to` and `context`, got {data!r}"
        )
    to, recipients = _addresses(data.get("to"))
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise UnrecoverableError(f"email `context` must be an object, got {context!r}")
    env = template_environment(settings.template_dir)
    if _has_template(env, email_type):
        subject = _render(env, f"email/{email_type}.subject", context)
        text = _render(env, f"email/{email_type}.txt", context)
        html = _render(env, f"email/{email_type}.html", context)
        if "subject" in data:
            subject = _text_field(data, "subject")
    elif "subject" in data and "body" in data:
        subject = _text_field(data, "subject")
        text = _text_field(data, "body")
        html = data["html"] if isinstance(data.get("html"), str) else ""
        if not html:
            html = _render(env, "email/_custom.html", {"subject": subject, "body": text})
    else:
        raise UnrecoverableError(
            f"unknown email type {email_type!r}: there is no template email/{email_type}.html "
            "and the data has no `subject` and `body` to send instead"
        )
    subject = _one_line(subject)
    if not subject:
        raise UnrecoverableError(f"email {email_type!r} rendered an empty subject")
    return Email(to, recipients, subject, text, html)


# --- sending ---------------------------------------------------------------------------


def _reply_text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def require_tls(settings: Settings) -> bool:
    """Nodemailer's `requireTLS`: by default, exactly when there are credentials to protect."""
    if settings.smtp_require_tls is not None:
        return settings.smtp_require_tls
    return settings.smtp_user is not None


def _connect(settings: Settings) -> smtplib.SMTP:
    """A session as SMTP_SECURE says: implicit TLS, else STARTTLS when the server offers
    it; logged in when SMTP_USER is set. Credentials never cross a plain connection: with
    SMTP_REQUIRE_TLS (the default when SMTP_USER is set) a server without STARTTLS fails
    the job before AUTH is sent."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_secure:
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        smtp.ehlo()
        if not settings.smtp_secure and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif not settings.smtp_secure and require_tls(settings):
            raise UnrecoverableError(
                f"SMTP server {settings.smtp_host}:{settings.smtp_port} does not offer "
                "STARTTLS, and SMTP_REQUIRE_TLS is on: nothing was sent, no credentials "
                "crossed the plain connection (use SMTP_SECURE=true for implicit TLS)"
            )
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_email(
    email: Email, recipients: Sequence[str], settings: Settings, message_id: str
) -> Refused:
    """Send to `recipients`; return those the server refused (the others have the mail).

    Raises `UnrecoverableError` on a 5xx reply to the message as a whole and
    `EmailDeferredError` when the server is unreachable or answers 4xx."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    sender = parseaddr(settings.smtp_from)[1] or settings.smtp_from
    message = email.message(settings.smtp_from, message_id)
    try:
        with _connect(settings) as smtp:
            refused = smtp.send_message(message, sender, list(recipients))
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:
        reply = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        if 500 <= exc.smtp_code < 600:
            raise UnrecoverableError(f"SMTP server {where} refused the email: {reply}") from exc
        raise EmailDeferredError(f"SMTP server {where} deferred the email: {reply}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise EmailDeferredError(
            f"could not send through SMTP server {where}: {exc or type(exc).__name__}"
        ) from exc
    return {address: (code, _reply_text(text)) for address, (code, text) in refused.items()}


# --- the processor ---------------------------------------------------------------------


def _earlier_outcome(progress: Any) -> tuple[list[str], dict[str, str]]:
    """Recipients an earlier attempt delivered to, and those refused for good."""
    if not isinstance(progress, dict):
        return [], {}
    delivered = progress.get("delivered")
    rejected = progress.get("rejected")
    return (
        [a for a in delivered if isinstance(a, str)] if isinstance(delivered, list) else [],
        dict(rejected) if isinstance(rejected, dict) else {},
    )


def _message_id(job: RunningJob, settings: Settings) -> str:
    """The same id on every attempt, so a receiver can tell a retry from a new email."""
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    return f"<pgqueue.{job.id}.{job.timestamp or 0}@{domain}>"


def _listed(refused: dict[str, str]) -> str:
    return "; ".join(f"{address}: {reply}" for address, reply in refused.items())


def process_email(job: RunningJob) -> dict[str, Any]:
    settings = job.settings
    email = render_email(job.name, job.data, settings)
    delivered, rejected = _earlier_outcome(job.progress())
    pending = [a for a in email.recipients if a not in delivered and a not in rejected]
    message_id = _message_id(job, settings)
    refused = send_email(email, pending, settings, message_id) if pending else {}
    delivered += [a for a in pending if a not in refused]
    rejected.update({a: f"{code} {text}" for a, (code, text) in refused.items() if code >= 500})
    deferred = {a: f"{code} {text}" for a, (code, text) in refused.items() if code < 500}
    if deferred:
        if len(deferred) < len(pending):
            job.progress({"delivered": delivered, "rejected": rejected})
        raise EmailDeferredError(f"SMTP server deferred {_listed(deferred)}")
    if not delivered:
        raise UnrecoverableError(f"every recipient was refused: {_listed(rejected)}")
    return {
        "messageId": message_id,
        "subject": email.subject,
        "accepted": delivered,
        "rejected": rejected,
    }


def register(registry: Registry) -> None:
    registry.add(QueueName.EMAIL.value, ANY_NAME, process_email, CONCURRENCY)
