"""`pgqueue token create|revoke|list`: the bearer tokens of the admin API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from pgqueue.admin import tokens
from pgqueue.admin.roles import ROLES
from pgqueue.cli.common import migrated_database_url
from pgqueue.errors import InvalidJobError
from pgqueue.manager.admin import AdminService
from pgqueue.manager.aio import JobQueueManager

T = TypeVar("T")


def _with_service(work: Callable[[AdminService], Awaitable[T]]) -> T:
    async def run() -> T:
        async with JobQueueManager(migrated_database_url(), pool_size=1) as manager:
            return await work(AdminService(manager))

    return asyncio.run(run())


@click.group("token")
def token_group() -> None:
    """Create, revoke and list API tokens (stored hashed; shown once)."""


@token_group.command("create")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES, case_sensitive=False),
    help="ADMIN: everything; SERVICE: adds jobs; VIEWER: reads everything, changes nothing.",
)
@click.option("--name", help="Name to revoke it by and to see in the audit log.")
@click.option(
    "--ttl",
    default=tokens.DEFAULT_TTL,
    show_default=True,
    help="Lifetime: a number and s, m, h, d or w (90s, 12h, 30d).",
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    help="Limit a SERVICE token to this queue (repeatable); default: every queue but cleanup.",
)
def create_command(role: str, name: str | None, ttl: str, queues: tuple[str, ...]) -> None:
    """Create a token and print it once, as the last line."""
    try:
        role = tokens.normalise_role(role)
        name = tokens.validate_name(name) if name else tokens.default_name(role)
        seconds = tokens.parse_ttl(ttl)
        scope = tokens.validate_queues(queues)
    except InvalidJobError as exc:
        raise click.BadParameter(str(exc)) from exc
    if scope is not None and role != "SERVICE":
        raise click.BadParameter("--queue scopes SERVICE tokens only", param_hint="--queue")
    token = tokens.new_token()
    digest = tokens.token_hash(token)
    row = _with_service(lambda s: s.create_token(name, digest, role, seconds, scope))
    if row is None:
        raise click.ClickException(f"a token named {name!r} exists already; pick another --name")
    where = "" if scope is None else f", queues {', '.join(scope)}"
    click.echo(
        f"Token {name!r} with role {role}{where}, expires {row['expires_at']:%Y-%m-%d %H:%M %Z}."
    )
    click.echo("It is shown only now; store it somewhere safe.")
    click.echo(token)


@token_group.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke the token called NAME: API requests with it fail within 5 s, and the
    dashboard sessions it opened end now."""
    if not _with_service(lambda s: s.revoke_token(name)):
        raise click.ClickException(f"no token is named {name!r}")
    click.echo(f"Revoked token {name!r}.")


@token_group.command("list")
def list_command() -> None:
    """Show every token's name, role, queue scope and dates (never the token)."""
    for row in _with_service(lambda s: s.list_tokens()):
        status = "revoked" if row["revoked_at"] else f"expires {row['expires_at']:%Y-%m-%d %H:%M}"
        scope = ",".join(row["queues"]) if row["queues"] else "*"
        click.echo(f"{row['name']:<32} {row['role']:<8} {scope:<24} {status}")


COMMANDS = [token_group]
