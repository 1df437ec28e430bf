"""Security findings outside the HTTP routes: SMTP credentials and TLS, the cleanup
sweep's symlink guard and roots, spreadsheet formulas in report CSVs, and the server's
start-up refusals and TLS flags, each against the real thing (aiosmtpd, the file system,
the `pgqueue` command)."""

from __future__ import annotations

import dataclasses
import os
import ssl
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from aiosmtpd.controller import Controller

from pgqueue import JobQueueManager, JobState, UnrecoverableError
from pgqueue.config import Settings
from pgqueue.processors import cleanup
from pgqueue.processors.report_files import Report, to_csv
from tests.email_support import CERT, KEY, Mailbox, email_finished, email_registry
from tests.helpers import RunWorker, free_port, pgqueue_process, wait_for

# --- finding 4: SMTP credentials never cross a plain connection --------------------------


class PlainAuthMailbox(Mailbox):
    """A server that offers AUTH but no STARTTLS, and remembers every AUTH attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[bytes] = []

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        self.logins.append(bytes(data.login))
        return AuthResult(success=True)


@pytest.fixture
def plain_server() -> Any:
    box = PlainAuthMailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_no_starttls_fails_the_job_before_any_credential_is_sent(
    manager: JobQueueManager, run_worker: RunWorker, settings: Settings, plain_server: Any
) -> None:
    mail = dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=plain_server.port,
        smtp_user="mailer",
        smtp_password="s3cret",
    )
    job = await manager.add_email_job(
        "welcome", {"to": "a@example.com", "context": {"username": "A"}}
    )
    async with run_worker(email_registry(), {"email": 1}, mail):
        done = await email_finished(manager, job.id)
    assert done.state is JobState.FAILED and done.attempts_made == 1
    assert "does not offer STARTTLS" in done.failed_reason
    assert plain_server.logins == [] and plain_server.received() == []

    # An operator who accepts the risk says so, and only then are credentials sent.
    insecure = dataclasses.replace(mail, smtp_require_tls=False)
    job = await manager.add_email_job(
        "welcome", {"to": "b@example.com", "context": {"username": "B"}}
    )
    async with run_worker(email_registry(), {"email": 1}, insecure):
        done = await email_finished(manager, job.id)
    assert done.state is JobState.COMPLETED, done.failed_reason
    assert plain_server.logins == [b"mailer"]


# --- finding 9: the cleanup sweep ---------------------------------------------------------


def _old(*paths: Path) -> None:
    moment = time.time() - 10 * 86_400
    for path in paths:
        os.utime(path, (moment, moment), follow_symlinks=False)


def test_a_directory_swapped_for_a_link_mid_sweep_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, outside = tmp_path / "tmp", tmp_path / "precious"
    (root / "work").mkdir(parents=True)
    outside.mkdir()
    keep = outside / "keep.txt"
    keep.write_text("mine")
    (root / "work" / "old.txt").write_text("x")
    _old(keep, outside, root / "work" / "old.txt", root / "work")
    real_stat = os.stat

    def stat_then_swap(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        """The attacker's move, between the sweep's look at `work` and its entering it."""
        found = real_stat(path, *args, **kwargs)
        if path == "work" and (root / "work").is_dir() and not (root / "work").is_symlink():
            (root / "work" / "old.txt").unlink()
            (root / "work").rmdir()
            (root / "work").symlink_to(outside)
        return found

    monkeypatch.setattr(os, "stat", stat_then_swap)
    result = cleanup._Sweep(root, time.time() - 86_400, frozenset()).run()
    monkeypatch.undo()
    assert keep.read_text() == "mine"
    assert result["failed"] == ["work"]


@pytest.mark.parametrize("root", [Path("/"), Path.home()])
def test_a_sweep_refuses_the_root_or_a_home_directory(root: Path) -> None:
    with pytest.raises(UnrecoverableError, match="/ or a home directory"):
        cleanup._Sweep(root, time.time(), frozenset()).run()


# --- finding 9: report CSVs ---------------------------------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    report = Report(
        kind="k",
        title="t",
        parameters={},
        summary={},
        sections={"rows": [{"name": h, "n": -5} for h in hostile] + [{"name": "plain", "n": 1}]},
        table="rows",
        columns=("name", "n"),
    )
    lines = to_csv(report).split("\n")
    cells = [line.split(",")[0] for line in lines[1:-1]]
    assert all(c.lstrip('"').startswith("'") for c in cells[:-1]), cells
    assert cells[-1] == "plain" and lines[1].endswith(",-5")


# --- findings 3 and 8: the server refuses a weak secret, and serves TLS ------------------


def test_the_api_refuses_to_start_with_a_short_jwt_secret(db_url: str) -> None:
    process = pgqueue_process(
        ["api", "--port", str(free_port())], db_url, env={"PGQUEUE_JWT_SECRET": "tiny-secret"}
    )
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    [line] = [x for x in err.splitlines() if "PGQUEUE_JWT_SECRET" in x]
    assert "at least 32 bytes" in line
    assert "Traceback" not in err and "tiny-secret" not in err


async def test_the_api_serves_tls_with_the_given_certificate(db_url: str) -> None:
    port = free_port()
    server = pgqueue_process(
        ["api", "--port", str(port), "--ssl-certfile", str(CERT), "--ssl-keyfile", str(KEY)],
        db_url,
    )
    try:
        context = ssl.create_default_context(cafile=str(CERT))
        async with httpx2.AsyncClient(verify=context) as client:

            async def healthy() -> httpx2.Response | None:
                try:
                    return await client.get(f"https://127.0.0.1:{port}/healthz")
                except httpx2.TransportError:
                    assert server.poll() is None, server.communicate()
                    return None

            response = await wait_for(healthy, timeout=30)
        assert response.json() == {"status": "ok"}
    finally:
        server.terminate()
        server.communicate(timeout=30)
