"""``charter keys``: Ed25519 keys that sign evidence and audit checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from charter.cli.console import JSON_HELP, console, err_console

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()

keys_app = typer.Typer(
    help="Signing keys for evidence and audit checkpoints.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def generate(
    out: Annotated[
        Path, typer.Option("--out", help="Prefix: writes PREFIX.key (0600) and PREFIX.pub.")
    ],
) -> None:
    """Create an Ed25519 key pair; keep the .key secret, give the .pub to the registry admin."""
    from charter.signing import write_keypair

    private, public, keyid = write_keypair(out)
    err_console.print(
        f"wrote {private} (private, keep it secret) and {public} (public)", highlight=False
    )
    console.print(keyid)


@keys_app.command("trust")
def trust(
    name: Annotated[str, typer.Argument(help="What the key is, e.g. github-actions.")],
    public: Annotated[Path, typer.Option("--public", help="The public key (.pub, PEM).")],
) -> None:
    """Trust a public key: evidence it signs counts as verified (admin)."""
    from charter.cli.console import acting, open_registry
    from charter.errors import CharterError

    try:
        pem = public.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CharterError(
            f"cannot read the public key {public}: {exc}",
            hint="give the .pub file written by `charter keys generate`",
        ) from None
    with open_registry() as registry:
        keyid = registry.trust_key(name, pem, actor=acting(registry))
    console.print(f"trusted {name}: key {keyid}", highlight=False)


@keys_app.command("untrust")
def untrust(
    keyid: Annotated[str, typer.Argument(help="The key's id (`charter keys list`).")],
) -> None:
    """Stop trusting a key; evidence it signed is no longer verified (admin)."""
    from charter.cli.console import acting, open_registry

    with open_registry() as registry:
        registry.untrust_key(keyid, actor=acting(registry))
    console.print(f"no longer trusted: {keyid}", highlight=False)


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """The signing keys the registry trusts, and those it no longer does."""
    import json

    from rich.table import Table

    from charter.cli.console import acting, open_registry
    from charter.registry.names import terminal_safe

    with open_registry() as registry:
        keys = registry.trusted_keys(actor=acting(registry))
    if as_json:
        console.print_json(json.dumps(keys, default=str))
        return
    table = Table("key id", "name", "added by", "added", "revoked")
    for key in keys:
        table.add_row(
            key["keyid"],
            terminal_safe(key["name"]),
            key["added_by"],
            f"{key['added_at']:%Y-%m-%d}",
            f"{key['revoked_at']:%Y-%m-%d} by {key['revoked_by']}" if key["revoked_at"] else "",
        )
    console.print(table)
