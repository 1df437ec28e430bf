"""Email rendering from the packaged and the operator's templates: no server, no database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pgqueue.config import Settings
from pgqueue.errors import UnrecoverableError
from pgqueue.models import EmailJobType
from pgqueue.processors.email import render_email
from tests.email_support import (
    CONTEXTS,
    SUBJECTS,
)


@pytest.mark.parametrize("email_type", [t.value for t in EmailJobType])
def test_each_type_renders_subject_text_and_html_from_the_guides_context(
    email_type: str,
) -> None:
    email = render_email(
        email_type, {"to": "user@example.com", "context": CONTEXTS[email_type]}, Settings()
    )
    assert email.subject == SUBJECTS[email_type]
    assert email.recipients == ("user@example.com",)
    for value in CONTEXTS[email_type].values():
        assert str(value) in email.text
        assert str(value) in email.html
    assert email.html.lstrip().startswith("<!DOCTYPE html>")


def test_hostile_context_is_escaped_in_html_and_kept_verbatim_in_text() -> None:
    hostile = '<script>alert("x")</script>'
    email = render_email(
        "welcome",
        {"to": "u@example.com", "context": {"username": hostile, "dashboardUrl": "javascript:x"}},
        Settings(),
    )
    assert hostile not in email.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in email.html
    assert 'href="javascript:x"' not in email.html
    assert hostile in email.text
    assert email.subject == f"Welcome, {hostile}!"


def test_a_subject_cannot_inject_headers() -> None:
    email = render_email(
        "custom-email",
        {"to": "u@example.com", "subject": "Hi\r\nBcc: victim@example.com", "body": "x"},
        Settings(),
    )
    assert email.subject == "Hi Bcc: victim@example.com"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("welcome", {"context": CONTEXTS["welcome"]}, "needs `to`"),
        ("welcome", {"to": [], "context": CONTEXTS["welcome"]}, "needs `to`"),
        ("welcome", {"to": "not-an-address", "context": {}}, "invalid recipient"),
        ("welcome", {"to": ["ok@example.com", 42]}, "invalid recipient"),
        ("welcome", {"to": "a@example.com\nBcc: b@example.com"}, "invalid recipient"),
        ("welcome", {"to": "u@example.com", "context": {}}, "'username' is undefined"),
        ("welcome", {"to": "u@example.com", "context": "John"}, "`context` must be an object"),
        ("newsletter", {"to": "u@example.com"}, "unknown email type 'newsletter'"),
        ("../welcome", {"to": "u@example.com"}, "unknown email type"),
        ("custom-email", {"to": "u@example.com", "subject": "", "body": "x"}, "`subject`"),
        ("welcome", ["u@example.com"], "must be an object"),
    ],
)
def test_bad_email_jobs_are_unrecoverable_with_a_reason(name: str, data: Any, reason: str) -> None:
    with pytest.raises(UnrecoverableError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        render_email(name, data, Settings())


def test_templates_are_overridden_and_added_from_the_template_dir(tmp_path: Path) -> None:
    own = tmp_path / "email"
    own.mkdir()
    (own / "welcome.html").write_text("<p>Hi {{ username }}, from us</p>")
    (own / "digest.subject").write_text("Digest for {{ name }}")
    (own / "digest.txt").write_text("{{ name }}")
    (own / "digest.html").write_text("<b>{{ name }}</b>")
    settings = Settings(template_dir=tmp_path)

    welcome = render_email("welcome", {"to": "u@x.io", "context": CONTEXTS["welcome"]}, settings)
    assert welcome.html == "<p>Hi John Doe, from us</p>"
    assert welcome.subject == "Welcome, John Doe!"  # not overridden: the packaged one
    digest = render_email("digest", {"to": "u@x.io", "context": {"name": "<Ann>"}}, settings)
    assert (digest.subject, digest.text, digest.html) == (
        "Digest for <Ann>",
        "<Ann>",
        "<b>&lt;Ann&gt;</b>",
    )
