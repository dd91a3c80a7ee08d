"""What a check sees: the policy, the data, the model, and memoised derived quantities.

The gate builds one :class:`CheckContext` per run. Checks ask it for labels, predictions,
scores and confusion counts; each is computed once and shared, so ten fairness rules over the
same sensitive column cost one aggregation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import narwhals as nw
import numpy as np

from charter.checks.categories import conform_categories
from charter.checks.findings import rule_finding
from charter.errors import CheckError, DataError
from charter.evidence import Finding, Threshold, Verdict
from charter.policy.schema import Policy, Rule, Task
from charter.stats.counts import ConfusionCounts, GroupIndex, binary_labels
from charter.stats.frames import (
    AnyFrame,
    column_names,
    finite_floats,
    is_lazy,
    require_columns,
)

T = TypeVar("T")

#: Rows on which predictions derived from ``predict_proba`` are confirmed against ``predict``.
_ARGMAX_PROBE_ROWS = 2048


@dataclass
class CheckContext:
    """Inputs of one gate run, with memoised derived quantities.

    Attributes
    ----------
    policy
        The loaded policy.
    data
        The evaluation data (narwhals frame).
    stage
        The stage being gated (``staging``, ``production``) or ``None``.
    model
        The loaded model, or ``None`` when predictions come from a column.
    baseline
        The production model to compare against, if any.
    target
        Column of true labels (from the CLI or ``policy.data.target``).
    prediction_column, score_column
        Columns holding predictions/scores, used when there is no model.
    features
        Columns the model consumes; default: the model's ``feature_names_in_``, else every
        column that is not target, prediction, score, weight or id.
    """

    policy: Policy
    data: AnyFrame
    stage: str | None = None
    model: Any | None = None
    baseline: Any | None = None
    target: str | None = None
    prediction_column: str | None = None
    score_column: str | None = None
    features: list[str] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.target = self.target or self.policy.data.target
        self.prediction_column = self.prediction_column or self.policy.data.prediction
        self.score_column = self.score_column or self.policy.data.score
        if self.features is None:
            self.features = self._default_features()

    # -- memoisation ------------------------------------------------------------------------
    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute ``compute()`` once per context under ``key``."""
        if key not in self._cache:
            self._cache[key] = compute()
        value: T = self._cache[key]
        return value

    # -- columns ----------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Column names of the data."""
        return self.memo("columns", lambda: column_names(self.data))

    @property
    def eager(self) -> nw.DataFrame[Any]:
        """The data as an eager narwhals frame (collecting a lazy one once)."""

        def collect() -> nw.DataFrame[Any]:
            if is_lazy(self.data):
                assert isinstance(self.data, nw.LazyFrame)
                return self.data.collect()
            assert isinstance(self.data, nw.DataFrame)
            return self.data

        return self.memo("eager", collect)

    def column(self, name: str) -> np.ndarray:
        """One column as numpy."""
        require_columns(self.data, [name])
        return self.memo(f"column:{name}", lambda: self.eager.get_column(name).to_numpy())

    def _default_features(self) -> list[str]:
        names = getattr(self.model, "feature_names_in_", None)
        if names is not None:
            return [str(n) for n in names]
        if self.policy.data.features is not None:
            return list(self.policy.data.features)
        meta = {
            self.target,
            self.prediction_column,
            self.score_column,
            self.policy.data.weight,
            self.policy.data.id_column,
            self.policy.data.timestamp_column,
        }
        return [c for c in column_names(self.data) if c not in meta]

    @property
    def task(self) -> Task:
        """Binary classification or regression, from the policy."""
        return self.policy.model.task

    # -- labels, predictions, scores --------------------------------------------------------
    def require_target(self) -> str:
        """The target column name, or a clear error when none was given."""
        if not self.target:
            raise DataError(
                "this rule needs true labels but no target column was given",
                hint="pass --target COLUMN or set data.target in the policy",
            )
        require_columns(self.data, [self.target], role="target")
        return self.target

    def y_true(self) -> np.ndarray:
        """True labels: 0/1 for classification (validated), floats for regression."""

        def compute() -> np.ndarray:
            raw = self.column(self.require_target())
            if self.task is Task.REGRESSION:
                return finite_floats(raw, "target")
            return binary_labels(raw, pos_label=self.policy.data.positive_label, role="target")

        return self.memo("y_true", compute)

    def model_input(self) -> Any:
        """The feature columns in the form the model was trained on (a pandas frame)."""

        def compute() -> Any:
            assert self.features is not None
            require_columns(self.data, self.features, role="model feature")
            frame = self.eager.select(self.features).to_pandas()
            return conform_categories(self.model, frame) if self.model is not None else frame

        return self.memo("model_input", compute)

    def raw_predictions(self, *, baseline: bool = False) -> np.ndarray:
        """Predictions as the model (or the prediction column) gives them."""
        key = "raw_pred:baseline" if baseline else "raw_pred"

        def compute() -> np.ndarray:
            model = self.baseline if baseline else self.model
            if model is None:
                if baseline:
                    raise CheckError("no baseline model was given", hint="pass --baseline MODEL")
                if self.prediction_column:
                    require_columns(self.data, [self.prediction_column], role="prediction")
                    return self.column(self.prediction_column)
                raise DataError(
                    "this rule needs predictions but there is neither a model nor a"
                    " prediction column",
                    hint="pass --model MODEL or --predictions COLUMN",
                )
            try:
                derived = self._predictions_from_proba(model, baseline=baseline)
                if derived is not None:
                    return derived
                out = np.asarray(model.predict(self.model_input()))
            except CheckError:
                raise
            except Exception as exc:
                raise DataError(
                    f"the {'baseline ' if baseline else ''}model failed to predict: {exc}",
                    hint="check that the data has the columns and types the model was trained on",
                ) from exc
            return out.ravel()

        return self.memo(key, compute)

    def _proba(self, model: Any, *, baseline: bool) -> np.ndarray:
        """``model.predict_proba`` over the data, computed once per model."""
        return self.memo(
            "proba:baseline" if baseline else "proba",
            lambda: np.asarray(model.predict_proba(self.model_input())),
        )

    def _predictions_from_proba(self, model: Any, *, baseline: bool) -> np.ndarray | None:
        """Class predictions as the argmax of ``predict_proba``, when that is what ``predict`` does.

        A gate usually needs both predictions and scores; for a binary classifier whose
        ``predict`` is the argmax of ``predict_proba`` (scikit-learn's and LightGBM's
        classifiers), one pass over the data gives both. The derivation is confirmed against
        ``model.predict`` on the first rows; models whose ``predict`` is randomised or
        thresholded differently opt out with ``charter_predict_is_argmax = False``.
        """
        classes = getattr(model, "classes_", None)
        if (
            self.task is not Task.BINARY_CLASSIFICATION
            or not hasattr(model, "predict_proba")
            or classes is None
            or len(classes) != 2
            or not getattr(model, "charter_predict_is_argmax", True)
        ):
            return None
        proba = self._proba(model, baseline=baseline)
        if proba.ndim != 2 or proba.shape[1] != 2:
            return None
        derived = np.asarray(classes)[np.argmax(proba, axis=1)]
        frame = self.model_input()
        probe = min(len(derived), _ARGMAX_PROBE_ROWS)
        expected = np.asarray(model.predict(frame.iloc[:probe])).ravel()
        return derived if np.array_equal(expected, derived[:probe]) else None

    def y_pred(self, *, baseline: bool = False) -> np.ndarray:
        """Predictions: 0/1 for classification (validated), floats for regression."""

        def compute() -> np.ndarray:
            raw = self.raw_predictions(baseline=baseline)
            if self.task is Task.REGRESSION:
                return finite_floats(raw, "prediction")
            return binary_labels(raw, pos_label=self.policy.data.positive_label, role="prediction")

        return self.memo("y_pred:baseline" if baseline else "y_pred", compute)

    def scores(self, *, baseline: bool = False) -> np.ndarray | None:
        """Probability of the positive class, or ``None`` when unavailable."""

        def compute() -> np.ndarray | None:
            model = self.baseline if baseline else self.model
            if model is None:
                if not baseline and self.score_column:
                    require_columns(self.data, [self.score_column], role="score")
                    return finite_floats(self.column(self.score_column), "score")
                return None
            if not hasattr(model, "predict_proba"):
                return None
            proba = self._proba(model, baseline=baseline)
            classes = list(getattr(model, "classes_", [0, 1]))
            pos = self.policy.data.positive_label
            column = classes.index(pos) if pos in classes else proba.shape[1] - 1
            return finite_floats(proba[:, column], "score")

        return self.memo("scores:baseline" if baseline else "scores", compute)

    def sample_weight(self) -> np.ndarray | None:
        """Sample weights from ``data.weight``, if the policy names a column."""
        name = self.policy.data.weight
        return None if name is None else self.column(name)

    # -- groups -----------------------------------------------------------------------------
    def group_index(self, sensitive: Sequence[str]) -> GroupIndex:
        """Row-to-group index over the given sensitive columns (memoised)."""
        names = tuple(sensitive)

        def compute() -> GroupIndex:
            if not names:
                return GroupIndex.overall(len(self.y_true()))
            require_columns(self.data, list(names), role="sensitive feature")
            cols = [self.eager.get_column(n).to_native() for n in names]
            return GroupIndex.build(cols, names)

        return self.memo(f"groups:{names}", compute)

    def confusion_counts(
        self, sensitive: Sequence[str], *, baseline: bool = False
    ) -> ConfusionCounts:
        """Confusion counts per group of ``sensitive`` (memoised per column set)."""
        names = tuple(sensitive)
        return self.memo(
            f"counts:{names}:{baseline}",
            lambda: ConfusionCounts.from_index(
                self.group_index(names),
                self.y_true(),
                self.y_pred(baseline=baseline),
                self.sample_weight(),
            ),
        )

    # -- findings ---------------------------------------------------------------------------
    def finding(
        self,
        rule: Rule,
        *,
        message: str,
        value: float | None = None,
        passed: bool | None = None,
        verdict: Verdict | None = None,
        details: dict[str, Any] | None = None,
        metric: str | None = None,
        threshold: Threshold | None = None,
    ) -> Finding:
        """Build a finding for ``rule`` (see :func:`charter.checks.findings.rule_finding`).

        The verdict is, in order: ``verdict`` if given; ``passed`` if given; else whether the
        rule's threshold admits ``value``. A NaN value is an ERROR (undefined metric), which
        blocks like a failure; put the reason in ``details["reason"]``.
        """
        return rule_finding(
            rule,
            message=message,
            value=value,
            passed=passed,
            verdict=verdict,
            details=details,
            metric=metric,
            threshold=threshold,
        )
