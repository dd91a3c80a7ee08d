"""The control catalogue: EU AI Act, NIST AI RMF and OECD AI principles.

The catalogue holds EU AI Act articles and Annex IV points, NIST AI RMF subcategories and the
OECD AI principles.
Rules name the controls they serve by id (``eu-ai-act:art-10.2.f``, ``nist-ai-rmf:measure-2.11``,
``oecd:1.2``); the loader rejects unknown ids, and compliance reports walk the catalogue to show
each control as satisfied, failed, or needing a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from charter.errors import NotFoundError, did_you_mean


@dataclass(frozen=True)
class Framework:
    """A regulation or framework the catalogue draws from."""

    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Control:
    """One obligation.

    Attributes
    ----------
    id
        ``<framework>:<clause>``, lower case.
    framework
        Id of the framework.
    title
        Short statement of the obligation.
    text
        Longer paraphrase, where the catalogue gives one.
    evidence
        What can satisfy it: ``checks``, ``registry``, ``monitoring``, ``human``.
    """

    id: str
    framework: str
    title: str
    text: str
    evidence: tuple[str, ...]

    @property
    def needs_person(self) -> bool:
        """Whether only a person can attest this control."""
        return self.evidence == ("human",)


@cache
def _load() -> tuple[dict[str, Framework], tuple[Control, ...]]:
    raw = yaml.safe_load(
        resources.files("charter.policy").joinpath("controls.yaml").read_text(encoding="utf-8")
    )
    frameworks = {
        key: Framework(id=key, title=value["title"], url=value["url"])
        for key, value in raw["frameworks"].items()
    }
    controls = tuple(
        Control(
            id=item["id"],
            framework=item["id"].split(":", 1)[0],
            title=item["title"],
            text=item.get("text", item["title"]),
            evidence=tuple(item.get("evidence", ["human"])),
        )
        for item in raw["controls"]
    )
    return frameworks, controls


def frameworks() -> dict[str, Framework]:
    """The frameworks of the catalogue, by id."""
    return dict(_load()[0])


def catalogue(framework: str | None = None) -> tuple[Control, ...]:
    """Every control, or those of one framework, in catalogue order."""
    controls = _load()[1]
    if framework is None:
        return controls
    return tuple(c for c in controls if c.framework == framework)


def get_control(control_id: str) -> Control:
    """The control with id ``control_id``.

    Raises
    ------
    NotFoundError
        With the closest id as a suggestion.
    """
    for control in _load()[1]:
        if control.id == control_id:
            return control
    guess = did_you_mean(control_id, [c.id for c in _load()[1]])
    raise NotFoundError(
        f"unknown control '{control_id}'",
        hint=guess or "run `charter controls` to list the catalogue",
    )


def unknown_controls(ids: Iterable[str]) -> list[str]:
    """The ids among ``ids`` that are not in the catalogue."""
    known = {c.id for c in _load()[1]}
    return [i for i in ids if i not in known]
