"""`pgqueue token list`: every token's name, role and state, never the token itself."""

from __future__ import annotations

import pytest

from tests.helpers import pgqueue_process

pytestmark = pytest.mark.slow


def cli(args: list[str], db_url: str) -> tuple[int, str, str]:
    process = pgqueue_process(args, db_url)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_token_list_shows_names_roles_and_revocation_but_no_secret(db_url: str) -> None:
    code, out, err = cli(["token", "list"], db_url)
    assert (code, out.strip()) == (0, ""), err
    secrets = []
    for name in ("deploy-bot", "night-ops"):
        code, out, err = cli(["token", "create", "--role", "ADMIN", "--name", name], db_url)
        assert code == 0, err
        secrets.append(out.strip().splitlines()[-1])
    assert cli(["token", "revoke", "night-ops"], db_url)[0] == 0

    code, out, err = cli(["token", "list"], db_url)
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.strip().splitlines()}
    assert set(lines) == {"deploy-bot", "night-ops"}
    assert "ADMIN" in lines["deploy-bot"] and "revoked" not in lines["deploy-bot"]
    assert "revoked" in lines["night-ops"]
    assert not any(secret in out for secret in secrets)
