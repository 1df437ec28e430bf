"""What the email tests share: a real SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pgqueue import JobQueueManager
from pgqueue.models import JobState
from pgqueue.processors import email as email_processor
from pgqueue.registry import Registry
from tests.helpers import wait_for


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and answers chosen recipients with
    a chosen reply (`times` limits how often, so a deferral can clear)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.replies: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.port = 0

    def answer(self, address: str, reply: str, times: int = 1_000_000) -> None:
        with self._lock:
            self.replies[address] = (reply, times)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self._lock:
            reply, times = self.replies.get(address, ("", 0))
            if times > 0:
                self.replies[address] = (reply, times - 1)
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def received(self) -> list[tuple[list[str], EmailMessage]]:
        with self._lock:
            return list(self.messages)


CERT = Path(__file__).parent / "data" / "smtp-test-cert.pem"


KEY = Path(__file__).parent / "data" / "smtp-test-key.pem"


def email_registry() -> Registry:
    registry = Registry()
    email_processor.register(registry)
    return registry


async def email_finished(manager: JobQueueManager, job_id: str) -> Any:
    async def done() -> Any:
        job = await manager.get_job("email", job_id)
        return job if job and job.state in (JobState.COMPLETED, JobState.FAILED) else None

    return await wait_for(done)


CONTEXTS: dict[str, dict[str, Any]] = {
    "welcome": {"username": "John Doe", "dashboardUrl": "https://app.example.com/dashboard"},
    "password-reset": {"username": "John Doe", "resetUrl": "https://app.example.com/reset/t0k"},
    "pipeline-complete": {
        "pipelineName": "Production Deploy",
        "projectName": "My App",
        "status": "SUCCESS",
        "duration": "5m 23s",
        "triggeredBy": "John Doe",
        "pipelineUrl": "https://app.example.com/pipelines/123",
    },
    "test-results": {"projectName": "My App", "passed": 120, "failed": 3, "coverage": 87.5},
    "deployment-notification": {
        "projectName": "My App",
        "environment": "production",
        "status": "SUCCEEDED",
        "version": "v1.4.2",
    },
    "alert": {"severity": "CRITICAL", "title": "Disk full", "message": "db-1 is at 99%"},
}


SUBJECTS = {
    "welcome": "Welcome, John Doe!",
    "password-reset": "Reset your password",
    "pipeline-complete": "[SUCCESS] Production Deploy — My App",
    "test-results": "Tests for My App: 120 passed, 3 failed",
    "deployment-notification": "Deployment of My App to production: SUCCEEDED",
    "alert": "[CRITICAL] Disk full",
}


def message_parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())
