"""`pgqueue token create|revoke|list`: the bearer tokens of the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from pgqueue.api import tokens
from pgqueue.cli.common import migrated_database_url
from pgqueue.db.connect import sync_pool
from pgqueue.errors import InvalidJobError
from pgqueue.store import auth_ops
from pgqueue.store.sync import SyncStore


@contextmanager
def _store() -> Iterator[SyncStore]:
    pool = sync_pool(migrated_database_url(), max_size=1)
    pool.open(wait=True)
    try:
        yield SyncStore(pool)
    finally:
        pool.close()


@click.group("token")
def token_group() -> None:
    """Create, revoke and list API tokens (stored hashed; shown once)."""


@token_group.command("create")
@click.option("--role", required=True, help="Role the token acts as, e.g. ADMIN or SERVICE.")
@click.option("--name", help="Name to revoke it by and to see in the audit log.")
@click.option(
    "--ttl",
    default=tokens.DEFAULT_TTL,
    show_default=True,
    help="Lifetime: a number and s, m, h, d or w (90s, 12h, 30d).",
)
def create_command(role: str, name: str | None, ttl: str) -> None:
    """Create a token and print it once, as the last line."""
    try:
        role = tokens.normalise_role(role)
        name = tokens.validate_name(name) if name else tokens.default_name(role)
        seconds = tokens.parse_ttl(ttl)
    except InvalidJobError as exc:
        raise click.BadParameter(str(exc)) from exc
    token = tokens.new_token()
    with _store() as store:
        row = store.run(auth_ops.create_token(name, tokens.token_hash(token), role, seconds))
    if row is None:
        raise click.ClickException(f"a token named {name!r} exists already; pick another --name")
    click.echo(f"Token {name!r} with role {role}, expires {row['expires_at']:%Y-%m-%d %H:%M %Z}.")
    click.echo("It is shown only now; store it somewhere safe.")
    click.echo(token)


@token_group.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke the token called NAME; requests with it get 401 from now on."""
    with _store() as store:
        found = store.run(auth_ops.revoke_token(name))
    if not found:
        raise click.ClickException(f"no token is named {name!r}")
    click.echo(f"Revoked token {name!r}.")


@token_group.command("list")
def list_command() -> None:
    """Show every token's name, role and dates (never the token)."""
    with _store() as store:
        rows = store.run(auth_ops.list_tokens())
    for row in rows:
        status = "revoked" if row["revoked_at"] else f"expires {row['expires_at']:%Y-%m-%d %H:%M}"
        click.echo(f"{row['name']:<32} {row['role']:<12} {status}")


COMMANDS = [token_group]
