"""Drift methods and results: how a score becomes a verdict, per column and per dataset.

:data:`METHODS` says, for each :class:`DriftMethod`, its default threshold and comparison;
:class:`ColumnDrift` and :class:`DatasetDrift` are the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from charter.stats.profile import ColumnKind

SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
BINARY_VALUES = 2
VALUE_BINNING_LIMIT = 20
KS_MAX_EXACT_N = 10000


class DriftMethod(StrEnum):
    """The drift statistics (Evidently's names)."""

    KS = "ks"
    CHISQUARE = "chisquare"
    Z = "z"
    WASSERSTEIN = "wasserstein"
    JENSENSHANNON = "jensenshannon"
    PSI = "psi"
    HELLINGER = "hellinger"


@dataclass(frozen=True)
class MethodSpec:
    """How a method's score becomes a verdict."""

    method: DriftMethod
    title: str
    default_threshold: float
    p_value: bool
    inclusive: bool
    kinds: frozenset[ColumnKind]

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's comparison for this method (NaN never drifts)."""
        if math.isnan(score):
            return False
        if self.p_value:
            return score <= threshold if self.inclusive else score < threshold
        return score >= threshold


_NUM = frozenset({ColumnKind.NUMERICAL})
_BOTH = frozenset({ColumnKind.NUMERICAL, ColumnKind.CATEGORICAL})
METHODS: dict[DriftMethod, MethodSpec] = {
    DriftMethod.KS: MethodSpec(DriftMethod.KS, "K-S p_value", 0.05, True, True, _NUM),
    DriftMethod.CHISQUARE: MethodSpec(
        DriftMethod.CHISQUARE, "chi-square p_value", 0.05, True, False, _BOTH
    ),
    DriftMethod.Z: MethodSpec(DriftMethod.Z, "Z-test p_value", 0.05, True, False, _BOTH),
    DriftMethod.WASSERSTEIN: MethodSpec(
        DriftMethod.WASSERSTEIN, "Wasserstein distance (normed)", 0.1, False, True, _NUM
    ),
    DriftMethod.JENSENSHANNON: MethodSpec(
        DriftMethod.JENSENSHANNON, "Jensen-Shannon distance", 0.1, False, True, _BOTH
    ),
    DriftMethod.PSI: MethodSpec(DriftMethod.PSI, "PSI", 0.1, False, True, _BOTH),
    DriftMethod.HELLINGER: MethodSpec(
        DriftMethod.HELLINGER, "Hellinger distance", 0.1, False, True, _BOTH
    ),
}


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column between a reference and current data.

    Attributes
    ----------
    column, kind
        The column and how it was compared.
    method
        The statistic used (``None`` when nothing could be computed).
    score, threshold, drifted
        The statistic, its threshold and the verdict (Evidently's comparison).
    exact
        Whether ``score`` equals what the method gives on the raw rows (see the module notes).
    reference_rows, current_rows
        Non-null rows on each side.
    reason
        Why no score was computed (empty current data, text column, ...), if so.
    details
        New categories, null shares, means, ...
    """

    column: str
    kind: ColumnKind
    method: DriftMethod | None
    score: float
    threshold: float
    drifted: bool
    exact: bool
    reference_rows: int
    current_rows: int
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def computed(self) -> bool:
        """Whether a score was computed."""
        return self.method is not None and self.reason is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN as ``None``)."""
        return {
            "column": self.column,
            "kind": self.kind.value,
            "method": self.method.value if self.method else None,
            "score": None if math.isnan(self.score) else self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "exact": self.exact,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass(frozen=True)
class DatasetDrift:
    """Drift of every compared column, and the share that drifted.

    ``drifted`` is Evidently's dataset drift: ``share >= drift_share``, over the columns whose
    drift could be computed.
    """

    columns: tuple[ColumnDrift, ...]
    drift_share: float

    @property
    def computed(self) -> tuple[ColumnDrift, ...]:
        """Columns with a score."""
        return tuple(c for c in self.columns if c.computed)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        return [c.column for c in self.columns if c.drifted]

    @property
    def share(self) -> float:
        """Share of drifted columns among those with a score (NaN when none)."""
        computed = self.computed
        if not computed:
            return math.nan
        return sum(c.drifted for c in computed) / len(computed)

    @property
    def drifted(self) -> bool:
        """Evidently's dataset drift verdict."""
        share = self.share
        return not math.isnan(share) and share >= self.drift_share

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        share = self.share
        return {
            "share": None if math.isnan(share) else share,
            "drift_share": self.drift_share,
            "drifted": self.drifted,
            "drifted_columns": self.drifted_columns,
            "columns": [c.to_dict() for c in self.columns],
        }
