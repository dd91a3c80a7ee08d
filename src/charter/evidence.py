"""Findings and the Evidence bundle: what a gate leaves behind.

A check returns :class:`Finding` records; a gate collects them into an immutable
:class:`Evidence` bundle together with fingerprints of everything it looked at (model artifact,
data, policy), the versions of Charter and its dependencies, and the time. Evidence is JSON
first: :meth:`Evidence.to_json` writes the canonical form, HTML and Markdown are renderings.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from charter.errors import GateFailedError

EVIDENCE_SCHEMA_VERSION = 1

#: Distributions whose versions every evidence bundle records.
TRACKED_PACKAGES = (
    "charter-governance",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "narwhals",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "shap",
    "fairlearn",
    "skops",
    "pydantic",
)


class Verdict(StrEnum):
    """Outcome of one rule."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    """The check could not be computed (e.g. SHAP failed); blocks like a failure."""
    SKIPPED = "skipped"
    """The rule does not apply (e.g. a baseline comparison without a baseline)."""


class Severity(StrEnum):
    """What a failing rule does to the gate."""

    BLOCK = "block"
    WARN = "warn"


class Outcome(StrEnum):
    """The one word for a finding, everywhere it is shown: verdict and severity together.

    The CLI, the JSON (``findings[].outcome``), the HTML report, the model card and the
    compliance report all print these words, so a failing ``warn`` rule reads
    ``failed-warning`` wherever a person meets it.
    """

    PASSED = "passed"
    FAILED_BLOCKING = "failed-blocking"
    """The rule failed and it blocks the gate (and promotion)."""
    FAILED_WARNING = "failed-warning"
    """The rule failed; its severity is ``warn``, so it is reported and does not block."""
    ERROR = "error"
    """The check could not be computed."""
    SKIPPED = "skipped"
    """The rule does not apply here."""

    @classmethod
    def of(cls, verdict: Verdict, severity: Severity) -> Outcome:
        """The outcome of a finding with this verdict and severity."""
        if verdict is Verdict.PASS:
            return cls.PASSED
        if verdict is Verdict.SKIPPED:
            return cls.SKIPPED
        if verdict is Verdict.ERROR:
            return cls.ERROR
        return cls.FAILED_WARNING if severity is Severity.WARN else cls.FAILED_BLOCKING

    @property
    def failed(self) -> bool:
        """Whether the rule did not pass (failed either way, or could not be computed)."""
        return self in (Outcome.FAILED_BLOCKING, Outcome.FAILED_WARNING, Outcome.ERROR)

    @property
    def tone(self) -> str:
        """A CSS/colour class: ``ok``, ``bad``, ``warn`` or ``muted``."""
        return {
            Outcome.PASSED: "ok",
            Outcome.FAILED_BLOCKING: "bad",
            Outcome.ERROR: "bad",
            Outcome.FAILED_WARNING: "warn",
            Outcome.SKIPPED: "muted",
        }[self]


class Threshold(BaseModel):
    """Bounds a metric must stay within; either side may be open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None

    def admits(self, value: float) -> bool:
        """Whether ``value`` lies within the bounds (NaN never does)."""
        if value is None or math.isnan(value):
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)

    def describe(self) -> str:
        """Human form, e.g. ``"<= 0.1"`` or ``"in [0.8, 1.25]"``."""
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f">= {self.min:g}"
        if self.max is not None:
            return f"<= {self.max:g}"
        return "recorded"


def _json_number(value: float | None) -> float | str | None:
    """JSON has no NaN/inf: write them as strings so the bundle stays valid JSON."""
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class Finding(BaseModel):
    """The outcome of one rule of a policy.

    Attributes
    ----------
    rule_id
        The rule's id in the policy.
    check
        The id of the check that produced it (e.g. ``demographic_parity_difference``).
    section
        The policy section the rule belongs to (``data``, ``fairness``, ...).
    verdict
        pass, fail, error (could not compute) or skipped.
    severity
        ``block`` makes a failure stop the gate; ``warn`` only reports it.
    message
        One sentence a person can read in a CI log.
    metric, value, threshold
        The measured quantity and the bounds it was held to, when the rule is metric-shaped.
        An undefined metric is NaN and comes with a reason in ``details["reason"]``.
    controls
        Ids of the catalogue controls this rule serves (e.g. ``eu-ai-act:art-10``).
    details
        JSON-able detail: per-group values, confidence intervals, offending columns, ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_id: str
    check: str
    section: str
    verdict: Verdict
    severity: Severity = Severity.BLOCK
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: Threshold | None = None
    controls: tuple[str, ...] = ()
    details: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("value")
    def _ser_value(self, value: float | None) -> float | str | None:
        return _json_number(value)

    @property
    def blocking(self) -> bool:
        """Whether this finding stops the gate."""
        return self.severity is Severity.BLOCK and self.verdict in (Verdict.FAIL, Verdict.ERROR)

    @property
    def outcome(self) -> Outcome:
        """The finding's one word (:class:`Outcome`): verdict and severity together."""
        return Outcome.of(self.verdict, self.severity)

    @property
    def warning(self) -> bool:
        """Whether this finding is a failure that only warns."""
        return self.severity is Severity.WARN and self.verdict in (Verdict.FAIL, Verdict.ERROR)

    @property
    def interval(self) -> Any:
        """The confidence interval of :attr:`value` as the check recorded it, or ``None``.

        A worst-group finding holds its worst group's value to the bounds, so its interval is
        that group's (``details["worst_group"]["ci"]``), not the overall ``details["ci"]``.
        """
        worst = self.details.get("worst_group")
        if self.details.get("aggregate") == "worst_group" and isinstance(worst, dict):
            return worst.get("ci")
        return self.details.get("ci")


class Fingerprint(BaseModel):
    """Identity of one input the gate looked at.

    ``sha256`` is over the file's bytes when the input came from a file, and over a canonical
    Arrow IPC serialisation when it came as an in-memory frame.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    sha256: str
    path: str | None = None
    size_bytes: int | None = None
    rows: int | None = None
    columns: dict[str, str] | None = None
    format: str | None = None


class Evidence(BaseModel):
    """Immutable record of one gate run.

    Use :attr:`passed` to branch and :meth:`raise_for_failure` to stop a script the way
    ``charter check`` stops a CI job.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = EVIDENCE_SCHEMA_VERSION
    model_name: str
    stage: str | None = None
    policy: Fingerprint
    inputs: dict[str, Fingerprint] = Field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    charter_version: str = Field(default_factory=lambda: _package_version("charter-governance"))
    environment: dict[str, Any] = Field(default_factory=lambda: environment_snapshot())
    extras: dict[str, Any] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no blocking rule failed or errored (warnings allowed)."""
        return not any(f.blocking for f in self.findings)

    @property
    def status(self) -> str:
        """``passed``, ``passed_with_warnings`` or ``failed``."""
        if not self.passed:
            return "failed"
        if any(f.warning for f in self.findings):
            return "passed_with_warnings"
        return "passed"

    @property
    def blocking_findings(self) -> tuple[Finding, ...]:
        """The findings that stop the gate."""
        return tuple(f for f in self.findings if f.blocking)

    def summary(self) -> dict[str, int]:
        """Counts of findings by outcome, as shown at the end of ``charter check``."""
        counts = {"total": len(self.findings), "passed": 0, "failed": 0, "warnings": 0}
        counts.update({"errors": 0, "skipped": 0})
        for f in self.findings:
            if f.verdict is Verdict.PASS:
                counts["passed"] += 1
            elif f.verdict is Verdict.SKIPPED:
                counts["skipped"] += 1
            elif f.warning:
                counts["warnings"] += 1
            elif f.verdict is Verdict.ERROR:
                counts["errors"] += 1
            else:
                counts["failed"] += 1
        return counts

    def outcomes(self) -> dict[str, int]:
        """Findings per :class:`Outcome`, every outcome present, in the vocabulary's order."""
        counts = {o.value: 0 for o in Outcome}
        for f in self.findings:
            counts[f.outcome.value] += 1
        return counts

    def summary_line(self) -> str:
        """``"5 rules: passed 3, failed-blocking 1, failed-warning 1, error 0, skipped 0"``."""
        total = len(self.findings)
        parts = ", ".join(f"{k} {v}" for k, v in self.outcomes().items())
        return f"{total} rule{'' if total == 1 else 's'}: {parts}"

    def raise_for_failure(self) -> None:
        """Raise :class:`~charter.errors.GateFailedError` when a blocking rule failed."""
        if self.passed:
            return
        names = ", ".join(f"{f.rule_id} ({f.message})" for f in self.blocking_findings)
        raise GateFailedError(
            f"gate failed for {self.model_name}: {names}",
            hint="read the report for per-group detail; mitigate and run the gate again",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict with the computed status and summary included."""
        data = self.model_dump(mode="json")
        for finding, dumped in zip(self.findings, data["findings"], strict=True):
            dumped["outcome"] = finding.outcome.value
        data["status"] = self.status
        data["passed"] = self.passed
        data["summary"] = self.summary()
        data["outcomes"] = self.outcomes()
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        """The canonical JSON form of the bundle (sorted keys)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, allow_nan=False)

    @property
    def digest(self) -> str:
        """sha256 of the canonical compact JSON: the identity of this bundle."""
        return sha256_bytes(self.to_json(indent=None).encode())

    def write(self, path: str | Path) -> Path:
        """Write the bundle as JSON to ``path`` and return it."""
        from charter.files import write_atomic

        return write_atomic(Path(path), (self.to_json() + "\n").encode("utf-8"))

    @classmethod
    def read(cls, path: str | Path) -> Evidence:
        """Read a bundle written by :meth:`write` (``evidence.json`` or its folder)."""
        source = Path(path)
        if source.is_dir():
            source = source / "evidence.json"
        return cls.from_json(source.read_text(encoding="utf-8"))

    @classmethod
    def from_json(cls, text: str) -> Evidence:
        """Parse a bundle from its JSON text (computed fields are ignored)."""
        data = json.loads(text)
        for computed in ("status", "passed", "summary", "outcomes"):
            data.pop(computed, None)
        for finding in data.get("findings", []):
            finding.pop("outcome", None)
            value = finding.get("value")
            if isinstance(value, str):
                finding["value"] = float(value.replace("Infinity", "inf"))
        return cls.model_validate(data)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint_file(path: str | Path, *, kind: str, **extra: Any) -> Fingerprint:
    """Fingerprint a file by its bytes."""
    source = Path(path)
    return Fingerprint(
        kind=kind,
        sha256=sha256_file(source),
        path=str(source),
        size_bytes=source.stat().st_size,
        format=source.suffix.lstrip(".").lower() or None,
        **extra,
    )


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def environment_snapshot(packages: Sequence[str] = TRACKED_PACKAGES) -> dict[str, Any]:
    """Python, platform and the versions of the packages that shape a gate's results."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {name: _package_version(name) for name in packages},
    }


def canonical_json(value: Mapping[str, Any] | Sequence[Any]) -> bytes:
    """Canonical bytes of a JSON-able value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
