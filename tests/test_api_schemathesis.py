"""Property-based: requests generated from the OpenAPI document never get a 5xx.

Schemathesis builds requests for every operation the document describes; they go to
the real app on a real database with a valid ADMIN token. A handful of examples per
operation keeps the run to seconds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import hypothesis
import psycopg
import schemathesis
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
        assert len(operations) == 27
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
