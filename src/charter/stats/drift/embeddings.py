"""Drift of embedding columns: a domain classifier's ROC AUC, or the maximum mean discrepancy."""

from __future__ import annotations

import math

import numpy as np

from charter.stats.drift.model import ColumnDrift
from charter.stats.profile import ColumnKind, ColumnProfile

# -- embeddings ---------------------------------------------------------------------------------

EMBEDDING_THRESHOLDS = {"model": 0.55, "mmd": 0.015}


def embedding_drift(
    reference: ColumnProfile,
    current: ColumnProfile,
    *,
    method: str = "model",
    threshold: float | None = None,
) -> ColumnDrift:
    """Drift of an embedding column, as Evidently's ``model`` and ``mmd`` methods.

    ``model`` trains ``SGDClassifier(loss="log_loss", random_state=42)`` to tell reference
    from current vectors on half of them (``train_test_split(test_size=0.5,
    random_state=42)``) and reports the ROC AUC on the other half (drift above 0.55).
    ``mmd`` is the unbiased squared maximum mean discrepancy with an RBF kernel whose width is
    the median distance between the samples (drift above 0.015). Both run on the profiles'
    uniform samples (at most 1,000 vectors per side) rather than on every vector.
    """
    if method not in EMBEDDING_THRESHOLDS:
        raise ValueError(f"unknown embedding drift method '{method}'; use 'model' or 'mmd'")
    limit = EMBEDDING_THRESHOLDS[method] if threshold is None else threshold
    ref, cur = reference.embedding, current.embedding
    n_ref, n_cur = reference.count, current.count
    if ref is None or cur is None or len(ref.vectors) < 2 or len(cur.vectors) < 2:
        return ColumnDrift(
            reference.name,
            ColumnKind.EMBEDDING,
            None,
            math.nan,
            limit,
            False,
            False,
            n_ref,
            n_cur,
            reason="fewer than two vectors on one side",
        )
    if ref.dim != cur.dim:
        return ColumnDrift(
            reference.name,
            ColumnKind.EMBEDDING,
            None,
            math.nan,
            limit,
            False,
            False,
            n_ref,
            n_cur,
            reason=f"vectors have {cur.dim} dimensions now and {ref.dim} in the reference",
        )
    x = ref.vectors.astype(np.float64)
    y = cur.vectors.astype(np.float64)
    score = _domain_classifier_auc(x, y) if method == "model" else _mmd2u(x, y)
    return ColumnDrift(
        reference.name,
        ColumnKind.EMBEDDING,
        None,
        float(score),
        float(limit),
        bool(score > limit),
        False,
        n_ref,
        n_cur,
        details={"method": method, "sample": [len(x), len(y)]},
    )


def _domain_classifier_auc(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    data = np.vstack([x, y])
    target = np.concatenate([np.ones(len(x)), np.zeros(len(y))])
    x_train, x_test, y_train, y_test = train_test_split(
        data, target, test_size=0.5, random_state=42, shuffle=True
    )
    if len(set(y_train.tolist())) < 2 or len(set(y_test.tolist())) < 2:
        return math.nan
    clf = SGDClassifier(loss="log_loss", random_state=42)
    clf.fit(x_train, y_train)
    return float(roc_auc_score(y_test, clf.predict_proba(x_test)[:, 1]))


def _mmd2u(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import pairwise_distances, pairwise_kernels

    m, n = len(x), len(y)
    sigma2 = float(np.median(pairwise_distances(x, y, metric="euclidean")) ** 2)
    gamma = 1.0 / sigma2 if sigma2 > 0 else 1.0
    k = pairwise_kernels(np.vstack([x, y]), metric="rbf", gamma=gamma)
    kx, ky, kxy = k[:m, :m], k[m:, m:], k[:m, m:]
    return float(
        (kx.sum() - np.trace(kx)) / (m * (m - 1))
        + (ky.sum() - np.trace(ky)) / (n * (n - 1))
        - 2 * kxy.sum() / (m * n)
    )
