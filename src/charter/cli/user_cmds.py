"""Identity commands: ``init``, ``whoami``, ``user ...`` and ``token ...``.

Tokens are printed alone on standard output (so scripts can capture them) and everything else on
standard error.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from charter.cli.console import (
    JSON_HELP,
    acting,
    console,
    err_console,
    open_registry,
    print_json,
    print_token,
)
from charter.registry.roles import parse_role

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

user_app = typer.Typer(help="Manage users and their roles (admin).", no_args_is_help=True)
token_app = typer.Typer(help="Create and revoke API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


@app.command("init")
def init(
    admin: Annotated[str, typer.Option(help="User name of the first admin.")] = "admin",
    artifact_store: Annotated[
        str | None,
        typer.Option(help="Folder or fsspec URL for artifacts (default: artifacts/ beside it)."),
    ] = None,
) -> None:
    """Create the registry (SQLite in .charter/ or CHARTER_DATABASE_URL) and its first admin."""
    from charter.registry import Registry
    from charter.registry.database import database_url, describe_url

    registry, token = Registry.initialize(admin=admin, artifact_store=artifact_store)
    err_console.print(
        f"[green]created[/] the registry at {describe_url(database_url())} "
        f"(audit trail: {registry.audit_alg}; artifacts: {registry.artifacts.display_url})",
        highlight=False,
    )
    err_console.print(
        f"first admin: [bold]{admin}[/]; their token follows (shown once, keep it secret; "
        "export it as CHARTER_TOKEN)"
    )
    print_token(token.token)
    registry.close()


@app.command("whoami")
def whoami() -> None:
    """Show the user of CHARTER_TOKEN and their roles."""
    with open_registry() as registry:
        actor = acting(registry)
        console.print(f"{actor.username}: {', '.join(sorted(actor.roles)) or 'no role'}")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="The new user's name.")],
    role: Annotated[list[str], typer.Option("--role", help="A role to give (repeatable).")],
) -> None:
    """Add a user with roles and print their first token (shown once)."""
    roles = [parse_role(r) for r in role]
    with open_registry() as registry:
        token = registry.add_user(username, roles, actor=acting(registry))
    err_console.print(
        f"[green]added[/] {username} ({', '.join(sorted(r.value for r in roles))}); "
        "their token follows (shown once):"
    )
    print_token(token.token)


@user_app.command("grant")
def user_grant(
    username: Annotated[str, typer.Argument()],
    role: Annotated[list[str], typer.Option("--role", help="A role to give (repeatable).")],
) -> None:
    """Give a user more roles."""
    roles = [parse_role(r) for r in role]
    with open_registry() as registry:
        held = registry.grant(username, roles, actor=acting(registry))
    console.print(f"{username}: {', '.join(held)}")


@user_app.command("remove-role")
def user_remove_role(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="The role to take away.")],
) -> None:
    """Take a role away from a user."""
    with open_registry() as registry:
        held = registry.revoke_role(username, parse_role(role), actor=acting(registry))
    console.print(f"{username}: {', '.join(held) or 'no role'}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user (their tokens stop working; their history stays)."""
    with open_registry() as registry:
        registry.disable_user(username, actor=acting(registry))
    console.print(f"disabled {username}")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """List users and roles."""
    with open_registry() as registry:
        users = registry.list_users(actor=acting(registry))
    if as_json:
        print_json([u.model_dump(mode="json") for u in users])
        return
    table = Table("user", "roles", "created", "by", "disabled")
    for u in users:
        table.add_row(
            u.username,
            ", ".join(u.roles),
            f"{u.created_at:%Y-%m-%d}",
            u.created_by or "-",
            "yes" if u.disabled else "",
        )
    console.print(table)


@token_app.command("create")
def token_create(
    user: Annotated[str | None, typer.Option(help="For another user (admin only).")] = None,
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
) -> None:
    """Create a token (shown once; the registry keeps only its hash)."""
    with open_registry() as registry:
        token = registry.create_token(
            actor=acting(registry), username=user, label=label, expires_days=expires_days
        )
    err_console.print(f"token {token.id} for {token.username} follows (shown once):")
    print_token(token.token)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token."""
    with open_registry() as registry:
        registry.revoke_token(token_id, actor=acting(registry))
    console.print(f"revoked token {token_id}")
