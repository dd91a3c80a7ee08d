"""Hypothesis strategies for labelled, grouped, optionally weighted samples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


@dataclass
class Sample:
    y: np.ndarray
    p: np.ndarray
    groups: np.ndarray
    w: np.ndarray | None
    second: np.ndarray  # a second sensitive column, for intersections

    def __repr__(self) -> str:
        return (
            f"Sample(y={self.y.tolist()}, p={self.p.tolist()}, groups={self.groups.tolist()},"
            f" second={self.second.tolist()}, w={None if self.w is None else self.w.tolist()})"
        )


@st.composite
def samples(
    draw: st.DrawFn, *, max_rows: int = 40, max_groups: int = 3, min_rows: int = 2
) -> Sample:
    """Binary labels and predictions, 1..max_groups groups, weights or none.

    At least two rows by default: fairlearn cannot take a single one.

    Edge cases come naturally: single groups, groups without positives or negatives,
    constant predictions (hypothesis shrinks towards them).
    """
    n = draw(st.integers(min_rows, max_rows))
    k = draw(st.integers(1, max_groups))
    bits = st.integers(0, 1)
    y = draw(arrays(np.int64, n, elements=bits))
    p = draw(arrays(np.int64, n, elements=bits))
    codes = draw(arrays(np.int64, n, elements=st.integers(0, k - 1)))
    second = draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    weighted = draw(st.booleans())
    w = None
    if weighted:
        w = draw(
            arrays(
                np.float64,
                n,
                elements=st.floats(0.25, 4.0, allow_nan=False).map(lambda v: round(v * 4) / 4),
            )
        )
    groups = np.array([f"g{c}" for c in codes])
    return Sample(y=y, p=p, groups=groups, w=w, second=np.array(["u", "v"])[second])
