"""Renderings of cards and compliance reports: Markdown, self-contained HTML, JSON."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from charter.cards.card import ModelCard
from charter.cards.compliance import ComplianceReport
from charter.errors import CharterError
from charter.evidence import Outcome

CARD_FORMATS = ("md", "html", "json")
COMPLIANCE_FORMATS = ("html", "json")


def _md(value: Any) -> str:
    """Escape what would break a Markdown table cell or list item."""
    return str(value).replace("|", "\\|").replace("\n", " ")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("charter.cards", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    return env


def _css() -> str:
    return resources.files("charter.cards").joinpath("templates/base.css").read_text("utf-8")


def render_card(card: ModelCard, fmt: str = "md") -> str:
    """The card as Markdown, HTML or JSON."""
    if fmt == "json":
        return card.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return _environment().get_template("model_card.md.j2").render(card=card)
    if fmt == "html":
        return (
            _environment()
            .get_template("model_card.html.j2")
            .render(card=card, css=_css(), outcomes=[o.value for o in Outcome])
        )
    raise CharterError(f"unknown card format '{fmt}'", hint="use --format md, html or json")


def render_compliance(report: ComplianceReport, fmt: str = "html") -> str:
    """The compliance report as HTML or JSON."""
    if fmt == "json":
        data = report.model_dump(mode="json")
        data["counts"] = report.counts
        import json

        return json.dumps(data, indent=2) + "\n"
    if fmt == "html":
        return _environment().get_template("compliance.html.j2").render(report=report, css=_css())
    raise CharterError(f"unknown report format '{fmt}'", hint="use --format html or json")


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` (creating folders) and return the path."""
    from charter.files import write_atomic

    return write_atomic(Path(path), text.encode("utf-8"))
