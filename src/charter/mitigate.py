"""Bias mitigation that produces a regular, saveable model for the gate to check again.

Three methods, one entry point (:func:`mitigate`):

``reweighing`` (pre-processing)
    Kamiran & Calders' reweighing as AIF360 implements it: each training row of group ``a`` and
    label ``y`` gets the weight ``P(A=a)·P(Y=y) / P(A=a, Y=y)``, computed from the counts of
    one aggregation (:func:`reweighing_weights`); the model is refitted with those sample
    weights. The result is the same kind of estimator as before and does not need the
    sensitive attribute at prediction time.
``exponentiated_gradient`` (in-processing)
    fairlearn's :class:`~fairlearn.reductions.ExponentiatedGradient`, wrapped as
    :class:`RandomizedEnsembleClassifier`: a weighted mixture of refitted copies of the model.
    The sensitive columns are needed to fit, not to predict.
``threshold_optimizer`` (post-processing)
    fairlearn's :class:`~fairlearn.postprocessing.ThresholdOptimizer`, wrapped as
    :class:`GroupThresholdClassifier`: the model's scores with a (randomised) threshold per
    group. It reads the sensitive columns from ``X`` at prediction time — so it *uses* the
    protected attribute to decide, which a privacy rule will rightly report.

fairlearn's fitted objects hold pandas objects and closures that cannot be saved safely; the
wrappers keep only numpy arrays, plain values and fitted estimators, so they save through skops
(:func:`charter.save_model`) and load with Charter's default trusted types. Both wrappers give
``predict_proba`` (the probability of the positive decision) and a ``predict`` that draws from
it with a fixed seed, exactly like fairlearn's ``predict(..., random_state=seed)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from charter.checks.categories import conform_categories
from charter.checks.mitigation import RECORD_ATTRIBUTE
from charter.checks.mitigation import mitigation_record as mitigation_record
from charter.errors import CharterError, DataError, did_you_mean
from charter.mitigation_frames import draw_decisions as _draw
from charter.mitigation_frames import eager_frame as _eager
from charter.mitigation_frames import fitted as _is_fitted
from charter.mitigation_frames import group_keys as _group_keys
from charter.mitigation_frames import group_positions as _lookup
from charter.mitigation_frames import model_features as _features
from charter.mitigation_frames import pandas_frame as _pandas
from charter.mitigation_frames import soft_scores as _soft_scores
from charter.mitigation_frames import wrapper_features as _wrapper_features
from charter.stats.counts import GroupIndex, binary_labels
from charter.stats.frames import require_columns

METHODS = ("reweighing", "exponentiated_gradient", "threshold_optimizer")
#: Fairness constraints by method, in fairlearn's names.
CONSTRAINTS = {
    "exponentiated_gradient": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "error_rate_parity",
    ),
    "threshold_optimizer": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "true_negative_rate_parity",
        "false_negative_rate_parity",
    ),
}


def reweighing_weights(
    data: Any,
    *,
    target: str,
    sensitive: Sequence[str],
    positive_label: Any = 1,
    sample_weight: str | None = None,
) -> np.ndarray:
    """AIF360's reweighing weights, one per row, from the counts of (group, label) cells.

    ``w(a, y) = P(A=a)·P(Y=y) / P(A=a, Y=y) = n_a·n_y / (n·n_ay)``, where the ``n`` are sums
    of the existing sample weights (row counts when there are none), and each row's weight is
    its existing weight times ``w``. Several sensitive columns define intersectional groups.

    Parameters
    ----------
    data
        A frame holding ``target``, the ``sensitive`` columns and optionally ``sample_weight``.
    target
        Column of binary labels.
    sensitive
        Sensitive columns.
    positive_label
        The label that means the favourable outcome.
    sample_weight
        Column of existing instance weights.

    Returns
    -------
    numpy.ndarray
        ``float64`` weights, one per row.
    """
    frame = _eager(data)
    columns = list(sensitive)
    if not columns:
        raise DataError("reweighing needs at least one sensitive column", hint="pass sensitive=")
    require_columns(frame, [target, *columns], role="column")
    y = binary_labels(frame.get_column(target).to_numpy(), pos_label=positive_label, role=target)
    index = GroupIndex.build([frame.get_column(c).to_native() for c in columns], columns)
    base = (
        np.ones(len(y))
        if sample_weight is None
        else np.asarray(frame.get_column(sample_weight).to_numpy(), dtype=np.float64)
    )
    cell = index.codes * 2 + y
    n_ay = np.bincount(cell, weights=base, minlength=index.size * 2).reshape(index.size, 2)
    n_a = n_ay.sum(axis=1, keepdims=True)
    n_y = n_ay.sum(axis=0, keepdims=True)
    n = n_ay.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_ay > 0, n_a * n_y / (n * n_ay), 0.0)
    return base * factor.ravel()[cell]


def mitigate(
    model: Any,
    data: Any,
    *,
    target: str,
    sensitive: Sequence[str],
    method: str = "reweighing",
    constraint: str = "demographic_parity",
    features: Sequence[str] | None = None,
    positive_label: Any = 1,
    random_state: int = 0,
    source: Mapping[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Return a mitigated copy of ``model``, fitted on ``data``, ready for the gate.

    The result records how it was made (:func:`mitigation_record`): the method, its
    parameters and the model it came from. The record is saved with the model, and every gate
    run on the model copies it into the evidence (``evidence.extras["mitigation"]``), where
    the model card and the compliance report read it.

    Parameters
    ----------
    model
        An estimator (fitted or not). ``reweighing`` and ``exponentiated_gradient`` refit
        clones of it; ``threshold_optimizer`` uses it as it is when fitted.
    data
        Training data (pandas, polars, pyarrow, ...) with features, ``target`` and the
        ``sensitive`` columns.
    target
        Column of binary labels.
    sensitive
        Sensitive columns whose groups the mitigation equalises.
    method
        ``reweighing``, ``exponentiated_gradient`` or ``threshold_optimizer``.
    constraint
        The fairness constraint for the fairlearn methods (e.g. ``demographic_parity``,
        ``equalized_odds``); see :data:`CONSTRAINTS`.
    features
        Columns the model consumes; default: the fitted model's ``feature_names_in_``, else
        every column except the target and the sensitive columns.
    positive_label
        The label that means the favourable outcome.
    random_state
        Seed of the randomised predictions of the fairlearn wrappers.
    source
        What identifies the model mitigated (``{"path": ..., "sha256": ...}``), recorded.
    **options
        Passed to the fairlearn method (``eps``, ``max_iter``, ``grid_size``, ``objective``).

    Returns
    -------
    estimator
        For ``reweighing`` the refitted model itself; otherwise a
        :class:`RandomizedEnsembleClassifier` or :class:`GroupThresholdClassifier`.

    Examples
    --------
    >>> fair = charter.mitigate.mitigate(model, train, target="default",
    ...                                  sensitive=["sex"])  # doctest: +SKIP
    >>> charter.save_model(fair, "model-mitigated.skops")  # doctest: +SKIP
    """
    if method not in METHODS:
        guess = did_you_mean(method, METHODS)
        raise CharterError(
            f"unknown mitigation method '{method}'",
            hint=guess or f"use one of {', '.join(METHODS)}",
        )
    frame = _eager(data)
    columns = list(sensitive)
    if not columns:
        raise DataError(
            "mitigation needs at least one sensitive column",
            hint="pass --sensitive COLUMN or set fairness.sensitive in the policy",
        )
    require_columns(frame, [target, *columns], role="column")
    used = _features(model, frame, target, columns, features)
    y = binary_labels(frame.get_column(target).to_numpy(), pos_label=positive_label, role=target)
    record: dict[str, Any] = {
        "method": method,
        "parameters": {
            "sensitive": columns,
            "target": target,
            "positive_label": _plain(positive_label),
            "features": used,
            **(
                {"constraint": constraint, "random_state": random_state}
                if method != "reweighing"
                else {}
            ),
            **{k: _plain(v) for k, v in options.items()},
        },
        "source_model": {"class": type(model).__name__, **dict(source or {})},
        "training_rows": int(frame.shape[0]),
    }
    if method == "reweighing":
        weights = reweighing_weights(
            frame, target=target, sensitive=columns, positive_label=positive_label
        )
        x = conform_categories(model, frame.select(used).to_pandas())
        return _recorded(fit_with_weights(clone(model), x, y, weights), record)
    _check_constraint(method, constraint)
    x = conform_categories(model, frame.select(list(dict.fromkeys([*used, *columns]))).to_pandas())
    if method == "exponentiated_gradient":
        fitted: Any = RandomizedEnsembleClassifier(
            estimator=clone(model),
            sensitive=columns,
            features=used,
            constraint=constraint,
            random_state=random_state,
            **options,
        ).fit(x, y)
    else:
        fitted = GroupThresholdClassifier(
            estimator=model,
            sensitive=columns,
            features=used,
            constraint=constraint,
            prefit=_is_fitted(model),
            random_state=random_state,
            **options,
        ).fit(x, y)
    return _recorded(fitted, record)


def _recorded(model: Any, record: dict[str, Any]) -> Any:
    setattr(model, RECORD_ATTRIBUTE, record)
    return model


def _plain(value: Any) -> Any:
    """A JSON-able form of a parameter value."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def sample_weight_parameter(estimator: Any) -> str:
    """The ``fit`` keyword that carries sample weights to ``estimator``'s final model.

    ``sample_weight`` for a plain estimator; ``step__sample_weight`` for a Pipeline (nested
    pipelines give ``outer__inner__sample_weight``), which routes the weights to the last step.

    Raises
    ------
    CharterError
        When the final model's ``fit`` takes no ``sample_weight``.
    """
    path: list[str] = []
    final = estimator
    while isinstance(final, Pipeline):
        name, final = final.steps[-1]
        path.append(name)
    if not _accepts_sample_weight(final):
        raise CharterError(
            f"{type(final).__name__}.fit takes no sample_weight, which reweighing and"
            " exponentiated_gradient need",
            hint="use --method threshold_optimizer (it needs no weights), or a model whose fit"
            " accepts sample_weight",
        )
    return "__".join([*path, "sample_weight"])


def fit_with_weights(estimator: Any, x: Any, y: np.ndarray, weights: np.ndarray) -> Any:
    """Fit ``estimator`` with sample weights (routed to the last step of a pipeline)."""
    return estimator.fit(x, y, **{sample_weight_parameter(estimator): weights})


def _accepts_sample_weight(estimator: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return True
    return "sample_weight" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class _WeightedRefit(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """What ExponentiatedGradient refits: the model, with the frame and weights it expects.

    fairlearn turns ``X`` into a frame with integer column names and calls
    ``fit(X, y, sample_weight=w)``. This adapter restores the column names and dtypes the
    model was built for (a ColumnTransformer selects by name; LightGBM needs its categories)
    and routes the weights to the last step of a pipeline. Used during the fit only: the
    fitted mixture keeps the bare models (:attr:`fitted_`).
    """

    def __init__(self, estimator: Any = None, columns: Any = None, dtypes: Any = None) -> None:
        self.estimator = estimator
        self.columns = columns
        self.dtypes = dtypes

    def _frame(self, X: Any) -> Any:  # noqa: N803
        import pandas as pd

        if isinstance(X, pd.DataFrame) and list(X.columns) == list(self.columns):
            return X
        values = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
        frame = pd.DataFrame(values, columns=list(self.columns))
        return frame.astype(dict(self.dtypes)) if self.dtypes else frame

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _WeightedRefit:  # noqa: N803
        model = clone(self.estimator)
        if sample_weight is None:
            model.fit(self._frame(X), y)
        else:
            fit_with_weights(model, self._frame(X), np.asarray(y), np.asarray(sample_weight))
        self.fitted_ = model
        self.classes_ = getattr(model, "classes_", np.array([0, 1]))
        return self

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return np.asarray(self.fitted_.predict(self._frame(X)))


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A model's scores thresholded per group: fairlearn's ThresholdOptimizer, saveable.

    Parameters
    ----------
    estimator
        The scoring model (fitted when ``prefit``).
    sensitive
        Columns of ``X`` holding the sensitive attributes; read in ``fit`` and ``predict``.
    features
        Columns of ``X`` the estimator consumes; default: every column but ``sensitive``.
    constraint
        fairlearn's constraint name (``demographic_parity``, ``equalized_odds``, ...).
    objective
        fairlearn's objective (``accuracy_score``, ``balanced_accuracy_score``, ...).
    prefit
        Use ``estimator`` as fitted instead of fitting a clone.
    predict_method
        How to score: ``predict_proba`` (default), ``decision_function`` or ``predict``.
    grid_size
        fairlearn's grid size for the threshold search.
    random_state
        Seed of the randomised ``predict``.

    Attributes
    ----------
    estimator_
        The scoring model.
    group_keys_
        The groups seen in ``fit`` (values of ``sensitive`` joined with ``" | "``).
    p0_, threshold0_, greater0_, p1_, threshold1_, greater1_, p_ignore_, constant_
        Per group: with probability ``p0`` decide ``score > threshold0`` (or ``<`` when
        ``greater0`` is false), else the same with the ``1`` operation; then with probability
        ``p_ignore`` replace the decision by ``constant`` (equalized odds only).
    """

    #: ``predict`` draws at random from ``predict_proba``: the gate must call it, not derive it.
    charter_predict_is_argmax = False
    #: It reads the sensitive columns to decide, by design (the privacy check says so).
    charter_decides_per_group = True

    def __init__(
        self,
        estimator: Any = None,
        *,
        sensitive: Sequence[str] = (),
        features: Sequence[str] | None = None,
        constraint: str = "demographic_parity",
        objective: str = "accuracy_score",
        prefit: bool = False,
        predict_method: str = "predict_proba",
        grid_size: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.sensitive = sensitive
        self.features = features
        self.constraint = constraint
        self.objective = objective
        self.prefit = prefit
        self.predict_method = predict_method
        self.grid_size = grid_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> GroupThresholdClassifier:  # noqa: N803
        """Fit the per-group thresholds on ``X`` (features and sensitive columns) and ``y``."""
        from fairlearn.postprocessing import ThresholdOptimizer

        _check_constraint("threshold_optimizer", self.constraint)
        frame = _pandas(X)
        self.sensitive_ = list(self.sensitive)
        self.features_ = _wrapper_features(frame, self.features, self.sensitive_)
        keys = _group_keys(frame, self.sensitive_)
        optimizer = ThresholdOptimizer(
            estimator=self.estimator,
            constraints=self.constraint,
            objective=self.objective,
            prefit=self.prefit,
            predict_method=self.predict_method,
            grid_size=self.grid_size,
        )
        x = conform_categories(self.estimator, frame[self.features_])
        optimizer.fit(x, np.asarray(y), sensitive_features=keys)
        self.estimator_ = optimizer.estimator_
        table = optimizer.interpolated_thresholder_.interpolation_dict
        self.group_keys_ = [str(k) for k in table]
        rows = [table[k] for k in table]
        self.p0_ = np.array([float(r.p0) for r in rows])
        self.threshold0_ = np.array([float(r.operation0.threshold) for r in rows])
        self.greater0_ = np.array([r.operation0.operator == ">" for r in rows])
        self.p1_ = np.array([float(r.p1) for r in rows])
        self.threshold1_ = np.array([float(r.operation1.threshold) for r in rows])
        self.greater1_ = np.array([r.operation1.operator == ">" for r in rows])
        self.p_ignore_ = np.array([float(r.get("p_ignore", 0.0)) for r in rows])
        self.constant_ = np.array([float(r.get("prediction_constant", 0.0)) for r in rows])
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(
            list(dict.fromkeys([*self.features_, *self.sensitive_])), dtype=object
        )
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Probability of each decision, ``[P(0), P(1)]`` per row."""
        check_is_fitted(self, "group_keys_")
        frame = _pandas(X)
        require = [*self.features_, *self.sensitive_]
        missing = [c for c in require if c not in frame.columns]
        if missing:
            raise DataError(
                f"the threshold-optimised model needs column(s) {missing} in X",
                hint="pass the sensitive columns along with the features; this model decides"
                " per group",
            )
        x = conform_categories(self.estimator_, frame[self.features_])
        scores = _soft_scores(self.estimator_, x, self.predict_method)
        group = _lookup(_group_keys(frame, self.sensitive_), self.group_keys_)
        first = np.where(
            self.greater0_[group],
            scores > self.threshold0_[group],
            scores < self.threshold0_[group],
        )
        second = np.where(
            self.greater1_[group],
            scores > self.threshold1_[group],
            scores < self.threshold1_[group],
        )
        positive = self.p0_[group] * first + self.p1_[group] * second
        ignore = self.p_ignore_[group]
        positive = ignore * self.constant_[group] + (1.0 - ignore) * positive
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """Randomised decisions drawn from :meth:`predict_proba` with ``random_state``."""
        return _draw(self.predict_proba(X)[:, 1], self.random_state)


class RandomizedEnsembleClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """fairlearn's ExponentiatedGradient as a saveable classifier: a weighted mixture of models.

    Parameters
    ----------
    estimator
        The model to refit under the constraint (cloned).
    sensitive
        Columns of ``X`` holding the sensitive attributes; needed by ``fit`` only.
    features
        Columns of ``X`` the estimator consumes; default: every column but ``sensitive``.
    constraint
        ``demographic_parity``, ``equalized_odds``, ``true_positive_rate_parity``,
        ``false_positive_rate_parity`` or ``error_rate_parity``.
    eps
        Allowed constraint violation (fairlearn's ``eps``).
    max_iter
        Iterations of the exponentiated-gradient game.
    random_state
        Seed of the randomised ``predict``.

    Attributes
    ----------
    predictors_
        The fitted models of the mixture (those with non-zero weight).
    weights_
        Their mixture weights (sum to 1).
    """

    #: ``predict`` draws at random from ``predict_proba``: the gate must call it, not derive it.
    charter_predict_is_argmax = False

    def __init__(
        self,
        estimator: Any = None,
        *,
        sensitive: Sequence[str] = (),
        features: Sequence[str] | None = None,
        constraint: str = "demographic_parity",
        eps: float = 0.01,
        max_iter: int = 50,
        random_state: int = 0,
    ) -> None:
        self.estimator = estimator
        self.sensitive = sensitive
        self.features = features
        self.constraint = constraint
        self.eps = eps
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> RandomizedEnsembleClassifier:  # noqa: N803
        """Run the exponentiated-gradient reduction on ``X`` (with sensitive columns), ``y``."""
        from fairlearn import reductions

        _check_constraint("exponentiated_gradient", self.constraint)
        frame = _pandas(X)
        self.sensitive_ = list(self.sensitive)
        self.features_ = _wrapper_features(frame, self.features, self.sensitive_)
        moment = {
            "demographic_parity": reductions.DemographicParity,
            "equalized_odds": reductions.EqualizedOdds,
            "true_positive_rate_parity": reductions.TruePositiveRateParity,
            "false_positive_rate_parity": reductions.FalsePositiveRateParity,
            "error_rate_parity": reductions.ErrorRateParity,
        }[self.constraint]()
        x = conform_categories(self.estimator, frame[self.features_])
        sample_weight_parameter(self.estimator)  # refuse early a model that takes no weights
        refit = _WeightedRefit(self.estimator, list(x.columns), dict(x.dtypes.items()))
        reduction = reductions.ExponentiatedGradient(
            refit, constraints=moment, eps=self.eps, max_iter=self.max_iter
        )
        reduction.fit(x, np.asarray(y), sensitive_features=_group_keys(frame, self.sensitive_))
        weights = reduction.weights_
        kept = [i for i in weights.index if weights[i] > 0]
        self.predictors_ = [reduction.predictors_[i].fitted_ for i in kept]
        self.weights_ = np.array([float(weights[i]) for i in kept])
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.array(self.features_, dtype=object)
        self.n_features_in_ = len(self.features_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """``[P(0), P(1)]`` per row: the weighted vote of the mixture's predictors."""
        check_is_fitted(self, "predictors_")
        frame = conform_categories(self.predictors_[0], _pandas(X)[self.features_])
        positive = np.zeros(len(frame))
        for weight, predictor in zip(self.weights_, self.predictors_, strict=True):
            positive += weight * np.asarray(predictor.predict(frame), dtype=np.float64)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """Randomised decisions drawn from :meth:`predict_proba` with ``random_state``."""
        return _draw(self.predict_proba(X)[:, 1], self.random_state)


def _check_constraint(method: str, constraint: str) -> None:
    allowed = CONSTRAINTS[method]
    if constraint not in allowed:
        guess = did_you_mean(constraint, allowed)
        raise CharterError(
            f"{method} does not support the constraint '{constraint}'",
            hint=guess or f"use one of {', '.join(allowed)}",
        )
