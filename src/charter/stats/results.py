"""What a metric computation returns: a value, why it may be undefined, and the group table.

:class:`MetricResult` is shared by the fairness and performance metrics. Its
:meth:`~MetricResult.to_details` gives the JSON-able shape that findings carry in
``details`` and that the HTML report and model card render (documented in ``docs/metrics.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def json_float(value: Any) -> float | None:
    """A float for JSON: ``None`` for NaN (undefined) and for infinities."""
    if value is None:
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return number


def json_scalar(value: Any) -> Any:
    """A plain JSON scalar for a group key value (numbers, strings, bools, null)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return json_float(value)
    return str(value)


@dataclass(frozen=True)
class GroupRow:
    """One row of a per-group table.

    Attributes
    ----------
    label
        Readable label, e.g. ``sex=F, age=<25``.
    key
        Sensitive column to value.
    count
        Number of rows (unweighted).
    weight
        Sum of sample weights (equal to ``count`` without weights).
    values
        Metric name to value; NaN when undefined.
    reasons
        Metric name to why it is undefined, for the NaN values.
    small
        Whether the group has fewer rows than the minimum group size.
    excluded
        Whether the group was left out of the aggregate (small-group policy ``exclude``).
    privileged
        Whether the group belongs to the privileged group (AIF360-style metrics), else ``None``.
    intervals
        Metric name to the group's confidence interval ``(low, high)`` (NaN bounds when no
        resample gave a defined value); written as ``"<metric>_ci": [low, high]``.
    undefined_resamples
        Metric name to the number of bootstrap resamples in which the group's value was
        undefined (left out of its interval); only names with at least one.
    """

    label: str
    key: Mapping[str, Any]
    count: int
    weight: float
    values: Mapping[str, float]
    reasons: Mapping[str, str] = field(default_factory=dict)
    small: bool = False
    excluded: bool = False
    privileged: bool | None = None
    intervals: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    undefined_resamples: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape of a group entry."""
        out: dict[str, Any] = {
            "group": self.label,
            "key": {k: json_scalar(v) for k, v in self.key.items()},
            "count": self.count,
            "weight": json_float(self.weight),
        }
        for name, value in self.values.items():
            out[name] = json_float(value)
        for name, (low, high) in self.intervals.items():
            out[f"{name}_ci"] = [json_float(low), json_float(high)]
        if self.undefined_resamples:
            out["undefined_resamples"] = {k: int(v) for k, v in self.undefined_resamples.items()}
        if self.reasons:
            out["undefined"] = dict(self.reasons)
        out["small"] = self.small
        out["excluded"] = self.excluded
        if self.privileged is not None:
            out["privileged"] = self.privileged
        return out


@dataclass(frozen=True)
class MetricResult:
    """The value of one metric, why it may be undefined, and the per-group table behind it.

    Attributes
    ----------
    metric
        Metric name, e.g. ``demographic_parity_difference``.
    value
        The value; NaN when undefined.
    reason
        Why the value is NaN (``None`` when it is defined).
    groups
        Per-group rows (empty for a metric over the whole data only).
    overall
        Metric name to value over all rows.
    ci
        Bootstrap confidence interval ``(low, high)``, when computed.
    details
        Metric-specific JSON-able extras (method, components, privileged group, ...).
    """

    metric: str
    value: float
    reason: str | None = None
    groups: tuple[GroupRow, ...] = ()
    overall: Mapping[str, float] = field(default_factory=dict)
    ci: tuple[float, float] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    @property
    def defined(self) -> bool:
        """Whether the value is a number (not NaN)."""
        return not math.isnan(self.value)

    @property
    def small_groups(self) -> list[str]:
        """Labels of the groups under the minimum group size."""
        return [g.label for g in self.groups if g.small]

    @property
    def excluded_groups(self) -> list[str]:
        """Labels of the groups left out of the aggregate."""
        return [g.label for g in self.groups if g.excluded]

    def by_group(self, name: str | None = None) -> dict[str, float]:
        """Group label to the value of ``name`` (default: the first value column)."""
        out: dict[str, float] = {}
        for row in self.groups:
            column = name if name is not None else next(iter(row.values))
            out[row.label] = float(row.values.get(column, math.nan))
        return out

    def to_details(self) -> dict[str, Any]:
        """The JSON-able ``details`` of a finding (see ``docs/metrics.md``)."""
        out: dict[str, Any] = {"metric": self.metric, "value": json_float(self.value)}
        if self.reason is not None:
            out["reason"] = self.reason
        out.update(self.details)
        if self.groups:
            out["groups"] = [g.to_dict() for g in self.groups]
        if self.overall:
            out["overall"] = {k: json_float(v) for k, v in self.overall.items()}
        if self.ci is not None:
            out["ci"] = [json_float(self.ci[0]), json_float(self.ci[1])]
        return out

    def to_pandas(self) -> Any:
        """The per-group table as a pandas DataFrame indexed by group label."""
        import pandas as pd

        records = []
        for g in self.groups:
            record: dict[str, Any] = {"group": g.label, **dict(g.key), "count": g.count}
            record["weight"] = g.weight
            record.update(g.values)
            for name, (low, high) in g.intervals.items():
                record[f"{name}_ci_low"] = low
                record[f"{name}_ci_high"] = high
            record["small"] = g.small
            record["excluded"] = g.excluded
            records.append(record)
        return pd.DataFrame.from_records(records).set_index("group")


def describe_groups(labels: Sequence[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c and 4 more``; intersectional groups in brackets.

    ``[race=Black, sex=F]; [race=Asian, sex=M]``: a group's attributes stay together, apart
    from the next group's.
    """
    if any(", " in label for label in labels):
        shown = "; ".join(f"[{label}]" for label in labels[:limit])
        rest = len(labels) - limit
        return shown + (f" and {rest} more" if rest > 0 else "")
    shown = ", ".join(labels[:limit])
    rest = len(labels) - limit
    return shown + (f" and {rest} more" if rest > 0 else "")
