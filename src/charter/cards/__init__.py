"""Model cards (Mitchell et al., 2019) and compliance reports, written from the registry.

:func:`model_card` and :func:`compliance_report` gather a version's record, policy and
evidence through the registry (so the reader's permission is checked) and build the document;
:mod:`charter.cards.render` turns it into Markdown, HTML or JSON.
"""

from __future__ import annotations

from typing import Any

from charter.cards.card import ModelCard, build_model_card
from charter.cards.compliance import (
    ComplianceReport,
    ControlResult,
    ControlStatus,
    build_compliance_report,
)
from charter.cards.context import CardContext, gather
from charter.cards.render import render_card, render_compliance
from charter.registry.records import Actor


def model_card(registry: Any, name: str, ref: str | int, *, actor: Actor) -> ModelCard:
    """The model card of a registered version."""
    return build_model_card(gather(registry, name, ref, actor=actor, audit=False))


def compliance_report(
    registry: Any,
    name: str,
    ref: str | int,
    *,
    actor: Actor,
    framework: str | None = None,
) -> ComplianceReport:
    """The compliance report of a registered version (verifies the audit trail)."""
    return build_compliance_report(gather(registry, name, ref, actor=actor), framework)


__all__ = [
    "CardContext",
    "ComplianceReport",
    "ControlResult",
    "ControlStatus",
    "ModelCard",
    "build_compliance_report",
    "build_model_card",
    "compliance_report",
    "gather",
    "model_card",
    "render_card",
    "render_compliance",
]
