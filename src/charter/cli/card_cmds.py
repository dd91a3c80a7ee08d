"""``charter card`` and ``charter compliance``: documents written from the registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from charter.cli.console import acting, err_console, open_registry
from charter.errors import CharterError

#: The commands of this module; :mod:`charter.cli.app` mounts them.
app = typer.Typer()


@app.command("card")
def card(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION (number, stage, alias or latest).")],
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write the model card (Mitchell et al., 2019) of a version."""
    from charter.cards import model_card, render_card
    from charter.cards.render import CARD_FORMATS, write_text
    from charter.registry import split_ref

    if fmt not in CARD_FORMATS:
        raise CharterError(f"unknown card format '{fmt}'", hint="use --format md, html or json")
    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        document = model_card(registry, name, version_ref, actor=acting(registry))
    text = render_card(document, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    write_text(text, out)
    err_console.print(
        f"wrote the model card of {document.model}:{document.version} to {out} "
        f"({len(document.needs_person)} item(s) need a person)",
        highlight=False,
    )


@app.command("compliance")
def compliance(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION")],
    fmt: Annotated[str, typer.Option("--format", help="html or json.")] = "html",
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    framework: Annotated[
        str | None, typer.Option(help="Only eu-ai-act, nist-ai-rmf or oecd.")
    ] = None,
) -> None:
    """Report every control of the catalogue as satisfied, failed, or needing a person."""
    from charter.cards import compliance_report, render_compliance
    from charter.cards.render import COMPLIANCE_FORMATS, write_text
    from charter.policy.controls import frameworks
    from charter.registry import split_ref

    if fmt not in COMPLIANCE_FORMATS:
        raise CharterError(f"unknown report format '{fmt}'", hint="use --format html or json")
    if framework is not None and framework not in frameworks():
        raise CharterError(
            f"unknown framework '{framework}'", hint="use " + ", ".join(frameworks())
        )
    name, version_ref = split_ref(ref)
    with open_registry() as registry:
        report = compliance_report(
            registry, name, version_ref, actor=acting(registry), framework=framework
        )
    text = render_compliance(report, fmt)
    if out is None:
        sys.stdout.write(text)
        return
    write_text(text, out)
    counts = report.counts
    err_console.print(
        f"wrote the compliance report of {report.model}:{report.version} to {out}: "
        f"{counts['satisfied']} satisfied, {counts['failed']} failed, "
        f"{counts['needs_person']} need a person",
        highlight=False,
    )
