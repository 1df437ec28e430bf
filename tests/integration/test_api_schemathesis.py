"""Property-based: requests generated from the OpenAPI document never get a 5xx, and
the schemathesis CLI with every check it has finds nothing the document does not say.

Schemathesis builds requests for every operation the document describes; they go to
the real app on a real database with a valid ADMIN token. A handful of examples per
operation keeps the run to seconds.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from starlette.testclient import TestClient

from pgqueue.admin.tokens import new_token, token_hash
from pgqueue.asgi import create_app
from pgqueue.config import Settings
from pgqueue.store import auth_ops
from pgqueue.store.sync import execute

EXAMPLES_PER_OPERATION = 12


def admin_token(db_url: str) -> str:
    token = new_token()
    with psycopg.connect(db_url, autocommit=True) as conn:
        execute(conn, auth_ops.create_token("fuzz-admin", token_hash(token), "ADMIN", 3600))
    return token


def request_kwargs(case: Any, token: str) -> dict[str, Any]:
    """Schemathesis speaks `requests`; the test client speaks httpx."""
    sent = case.as_transport_kwargs(base_url="http://testserver")
    headers = {**(sent.get("headers") or {}), "Authorization": f"Bearer {token}"}
    kwargs: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": headers,
        "params": sent.get("params"),
    }
    if "json" in sent:
        kwargs["json"] = sent["json"]
    elif sent.get("data") is not None:
        kwargs["content"] = sent["data"]
    return kwargs


def test_generated_requests_never_get_a_server_error(db_url: str, settings: Settings) -> None:
    token = admin_token(db_url)
    app = create_app(settings=replace(settings, database_url=db_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").json())
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
        assert len(operations) == 28
        for operation in operations:

            @given(case=operation.as_strategy())
            @hypothesis.settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def no_server_error(case: Any) -> None:
                response = client.request(**request_kwargs(case, token))
                assert response.status_code < 500, (case.as_curl_command(), response.text)
                if response.headers.get("content-type", "").startswith("application/json"):
                    assert isinstance(response.json(), dict)

            no_server_error()


@contextmanager
def live_api(db_url: str, settings: Settings) -> Iterator[str]:
    """The API served by uvicorn on a free port in a thread; yields its base URL. The
    run sends thousands of requests without a token on purpose, so the limit on failed
    sign-ins per client is raised out of its way (it has tests of its own)."""
    app = create_app(
        settings=replace(settings, database_url=db_url, auth_failures_per_minute=1_000_000)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_with_every_check_finds_nothing(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """What a new user would run: the schemathesis CLI with all of its checks (server
    errors, undocumented statuses, schema-valid requests rejected, schema-violating
    requests accepted, response schemas and headers, Allow on 405, auth ignored, use
    after free, ...), every phase, positive and negative data, against the live API."""
    token = admin_token(db_url)
    with live_api(db_url, settings) as base:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{base}/api/v1/openapi.json",
                "--checks",
                "all",
                "--mode",
                "all",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "10",
                "--seed",
                "1",
                "--no-color",
                # The long poll holds a request up to a minute by design; it is tested
                # in tests/integration/test_cancel_wait.py.
                "--exclude-path-regex",
                "/wait$",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested is not None and int(tested.group(1)) >= 20, summary
