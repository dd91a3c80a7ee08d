"""Two versions side by side.

Findings with the difference, parameters, data fingerprints and schema. ``?changes=1`` keeps
only what differs (a query parameter, so it works without JavaScript).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from charter.errors import CharterError
from charter.evidence import Evidence, Finding
from charter.registry import Actor, ModelVersion, Registry, split_ref
from charter.server.dashboard.findings import importances, interval, state
from charter.server.dashboard.session import Viewer
from charter.server.dashboard.site import DashboardRoute, current_viewer, registry_of, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@dataclass(frozen=True)
class Row:
    """One compared item: its values on each side and whether they differ."""

    key: str
    left: Any
    right: Any
    delta: float | None = None

    @property
    def changed(self) -> bool:
        """Whether the two sides differ."""
        return bool(self.left != self.right)


@dataclass(frozen=True)
class FindingPair:
    """A rule's finding in each version (either may be missing)."""

    rule: str
    left: Finding | None
    right: Finding | None

    @property
    def delta(self) -> float | None:
        """Right value minus left value, when both are numbers."""
        if self.left is None or self.right is None:
            return None
        if self.left.value is None or self.right.value is None:
            return None
        return self.right.value - self.left.value

    @property
    def changed(self) -> bool:
        """A different verdict, value or interval (or a finding on one side only)."""
        if self.left is None or self.right is None:
            return True
        return (
            self.left.verdict != self.right.verdict
            or self.left.value != self.right.value
            or interval(self.left.interval) != interval(self.right.interval)
        )

    def state(self, side: Finding | None) -> str:
        """The report's colour class of one side."""
        return state(side) if side is not None else "skipped"

    def ci(self, side: Finding | None) -> tuple[float, float] | None:
        """One side's interval."""
        return interval(side.interval) if side is not None else None


@dataclass(frozen=True)
class Comparison:
    """Everything the compare page shows."""

    left: ModelVersion
    right: ModelVersion
    findings: list[FindingPair]
    params: list[Row]
    fingerprints: list[Row]
    schema: list[Row]
    record: list[Row]
    importances: list[Row]


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}." if isinstance(v, dict) else f"{prefix}{k}"))
        return out
    return {prefix.rstrip("."): value}


def _rows(left: dict[str, Any], right: dict[str, Any]) -> list[Row]:
    rows = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key), right.get(key)
        delta = None
        if (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
        ):
            delta = float(b) - float(a)
        rows.append(Row(key, a, b, delta))
    return rows


def _fingerprints(version: ModelVersion) -> tuple[dict[str, Any], dict[str, Any]]:
    """(``input.field`` -> value, ``input.column`` -> type) from the lineage's data."""
    data = version.lineage.get("data") or {}
    prints: dict[str, Any] = {}
    schema: dict[str, Any] = {}
    for name, fp in data.items():
        if not isinstance(fp, dict):
            continue
        for field in ("sha256", "rows", "size_bytes", "format", "path"):
            if fp.get(field) is not None:
                prints[f"{name}.{field}"] = fp[field]
        for column, kind in (fp.get("columns") or fp.get("schema") or {}).items():
            schema[f"{name}.{column}"] = kind
    return prints, schema


def _importances(evidence: Evidence | None) -> dict[str, Any]:
    ranked = importances(evidence) if evidence is not None else None
    return {name: value for name, value, _ in ranked[1]} if ranked else {}


def _evidence(registry: Registry, version: ModelVersion, actor: Actor) -> Evidence | None:
    try:
        return registry.evidence(version.model, version.number, actor=actor)
    except CharterError:
        return None


def compare(registry: Registry, a: str, b: str, actor: Actor) -> Comparison:
    """Compare versions ``a`` and ``b`` (``NAME:REF`` each)."""
    left = registry.get_version(*split_ref(a), actor=actor)
    right = registry.get_version(*split_ref(b), actor=actor)
    ev_left, ev_right = _evidence(registry, left, actor), _evidence(registry, right, actor)
    by_left = {f.rule_id: f for f in (ev_left.findings if ev_left else ())}
    by_right = {f.rule_id: f for f in (ev_right.findings if ev_right else ())}
    rules = list(by_left) + [r for r in by_right if r not in by_left]
    pairs = [FindingPair(r, by_left.get(r), by_right.get(r)) for r in rules]
    prints_l, schema_l = _fingerprints(left)
    prints_r, schema_r = _fingerprints(right)
    record_l = {
        "stage": left.stage,
        "artifact sha256": left.artifact_sha256,
        "artifact size": left.artifact_size,
        "policy sha256": left.policy_sha256,
        "evidence status": left.evidence.status if left.evidence else None,
        "git commit": (left.lineage.get("git") or {}).get("commit"),
    }
    record_r = {
        "stage": right.stage,
        "artifact sha256": right.artifact_sha256,
        "artifact size": right.artifact_size,
        "policy sha256": right.policy_sha256,
        "evidence status": right.evidence.status if right.evidence else None,
        "git commit": (right.lineage.get("git") or {}).get("commit"),
    }
    return Comparison(
        left=left,
        right=right,
        findings=pairs,
        params=_rows(_flat(left.params), _flat(right.params)),
        fingerprints=_rows(prints_l, prints_r),
        schema=_rows(schema_l, schema_r),
        record=_rows(record_l, record_r),
        importances=_rows(_importances(ev_left), _importances(ev_right)),
    )


@router.get("/compare")
def compare_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    a: str | None = None,
    b: str | None = None,
    changes: bool = False,
) -> Response:
    """The comparison, or the form to choose two versions."""
    result = compare(registry_of(request), a, b, viewer.actor) if a and b else None
    return render(
        request, "compare.html.j2", viewer, result=result, a=a or "", b=b or "", changes=changes
    )
