"""``charter keys``: Ed25519 keys that sign evidence and audit checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from charter.cli.app import app, console, err_console

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
