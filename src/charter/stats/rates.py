"""Rates of a binary classifier computed from confusion counts, vectorised.

Every rate here is a ratio of sums of cells of the ``[y_true, y_pred]`` confusion table. The
functions take arrays whose last two axes are that 2x2 table, with any leading axes (groups,
bootstrap resamples), so one call evaluates a rate for every group of every resample.

A rate whose denominator is zero (a group with no positives, no negatives, no predicted
positives, or no rows at all) is **NaN**, never 0, and :func:`undefined_reason` says why.
fairlearn and scikit-learn return 0 in those cases (with at most a warning), which makes an
unmeasurable group look perfectly fair or perfectly wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charter.errors import CheckError, did_you_mean

Cell = tuple[int, int]

_TN: Cell = (0, 0)
_FP: Cell = (0, 1)
_FN: Cell = (1, 0)
_TP: Cell = (1, 1)
_ALL: tuple[Cell, ...] = (_TN, _FP, _FN, _TP)


@dataclass(frozen=True)
class Rate:
    """A rate: the share of the ``denominator`` cells that fall in the ``numerator`` cells.

    Attributes
    ----------
    name
        Canonical name, used as the key in group tables (``true_positive_rate``).
    numerator, denominator
        ``(y_true, y_pred)`` cells summed above and below the line.
    undefined
        Why the rate is undefined when the denominator is zero.
    description
        One line: the rate as a probability.
    """

    name: str
    numerator: tuple[Cell, ...]
    denominator: tuple[Cell, ...]
    undefined: str
    description: str

    @property
    def uses_labels(self) -> bool:
        """Whether the rate depends on the true labels.

        A rate is label-free when both its numerator and denominator sum ``y_true = 0`` and
        ``y_true = 1`` alike for each prediction (only ``selection_rate``): it can be measured
        on predictions alone, e.g. on unlabelled production data.
        """
        return any(
            set(cells) != {(1 - yt, yp) for yt, yp in cells}
            for cells in (self.numerator, self.denominator)
        )

    def parts(self, weighted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Numerator and denominator sums over the last two axes of ``weighted``."""
        num = _cells(weighted, self.numerator)
        den = _cells(weighted, self.denominator)
        return num, den

    def __call__(self, weighted: np.ndarray) -> np.ndarray:
        """The rate over the last two axes of ``weighted``; NaN where undefined."""
        num, den = self.parts(weighted)
        out = np.full(np.shape(num), np.nan)
        np.divide(num, den, out=out, where=den > 0)
        return out


def _cells(weighted: np.ndarray, cells: tuple[Cell, ...]) -> np.ndarray:
    total = weighted[..., cells[0][0], cells[0][1]]
    for yt, yp in cells[1:]:
        total = total + weighted[..., yt, yp]
    return np.asarray(total, dtype=np.float64)


_NO_ROWS = "no rows (or zero total weight)"
_NO_POS = "no positive labels (y_true = pos_label)"
_NO_NEG = "no negative labels"
_NO_PRED_POS = "no predicted positives"
_NO_PRED_NEG = "no predicted negatives"

#: The rates Charter computes per group, by canonical name.
RATES: dict[str, Rate] = {
    r.name: r
    for r in (
        Rate("selection_rate", (_FP, _TP), _ALL, _NO_ROWS, "P(y_pred = 1)"),
        Rate("base_rate", (_FN, _TP), _ALL, _NO_ROWS, "P(y_true = 1)"),
        Rate("accuracy", (_TN, _TP), _ALL, _NO_ROWS, "P(y_pred = y_true)"),
        Rate("error_rate", (_FP, _FN), _ALL, _NO_ROWS, "P(y_pred != y_true)"),
        Rate("true_positive_rate", (_TP,), (_FN, _TP), _NO_POS, "P(y_pred = 1 | y_true = 1)"),
        Rate("false_negative_rate", (_FN,), (_FN, _TP), _NO_POS, "P(y_pred = 0 | y_true = 1)"),
        Rate("false_positive_rate", (_FP,), (_TN, _FP), _NO_NEG, "P(y_pred = 1 | y_true = 0)"),
        Rate("true_negative_rate", (_TN,), (_TN, _FP), _NO_NEG, "P(y_pred = 0 | y_true = 0)"),
        Rate("precision", (_TP,), (_FP, _TP), _NO_PRED_POS, "P(y_true = 1 | y_pred = 1)"),
        Rate(
            "false_discovery_rate", (_FP,), (_FP, _TP), _NO_PRED_POS, "P(y_true = 0 | y_pred = 1)"
        ),
        Rate(
            "negative_predictive_value",
            (_TN,),
            (_TN, _FN),
            _NO_PRED_NEG,
            "P(y_true = 0 | y_pred = 0)",
        ),
        Rate("false_omission_rate", (_FN,), (_TN, _FN), _NO_PRED_NEG, "P(y_true = 1 | y_pred = 0)"),
    )
}

#: Other names accepted for the rates (fairlearn's, scikit-learn's and the usual short ones).
ALIASES: dict[str, str] = {
    "tpr": "true_positive_rate",
    "recall": "true_positive_rate",
    "sensitivity": "true_positive_rate",
    "fnr": "false_negative_rate",
    "fpr": "false_positive_rate",
    "tnr": "true_negative_rate",
    "specificity": "true_negative_rate",
    "ppv": "precision",
    "positive_predictive_value": "precision",
    "npv": "negative_predictive_value",
    "fdr": "false_discovery_rate",
    "for": "false_omission_rate",
    "accuracy_score": "accuracy",
    "precision_score": "precision",
    "recall_score": "true_positive_rate",
}

#: The rates shown in every per-group table, in this order.
STANDARD_RATES = (
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
)


def get_rate(name: str) -> Rate:
    """The :class:`Rate` called ``name`` (canonical name or alias).

    Raises
    ------
    CheckError
        With a "did you mean" and the list of known names.
    """
    canonical = ALIASES.get(name, name)
    rate = RATES.get(canonical)
    if rate is None:
        guess = did_you_mean(name, [*RATES, *ALIASES])
        raise CheckError(
            f"unknown rate '{name}'" + (f" ({guess})" if guess else ""),
            hint=f"use one of {', '.join(RATES)}",
        )
    return rate


def undefined_reasons(rate: Rate, weighted: np.ndarray) -> list[str | None]:
    """Why ``rate`` is undefined for each table of a ``(groups, 2, 2)`` array (vectorised)."""
    _, den = rate.parts(weighted)
    total = _cells(weighted, _ALL)
    return [
        None if d > 0 else (_NO_ROWS if t <= 0 else rate.undefined)
        for d, t in zip(den.tolist(), total.tolist(), strict=True)
    ]


def undefined_reason(rate: Rate, weighted: np.ndarray) -> str | None:
    """Why ``rate`` is undefined for one 2x2 table, or ``None`` when it is defined."""
    _, den = rate.parts(weighted)
    if float(den) > 0:
        return None
    total = float(_cells(weighted, _ALL))
    return _NO_ROWS if total <= 0 else rate.undefined
