"""Drift statistics computed from profiles, with Evidently 0.7's test selection.

Every statistic here reads two :class:`~charter.stats.profile.ColumnProfile` — the reference and
the current data summarised over the reference's grid — never raw rows.

Methods (names and default thresholds as in Evidently 0.7)
-----------------------------------------------------------
===============  ===========================  =========  =====================================
method           score                        threshold  drift when
===============  ===========================  =========  =====================================
``ks``           Kolmogorov-Smirnov p-value   0.05       ``p <= threshold`` (numerical only)
``chisquare``    chi-square p-value           0.05       ``p < threshold``
``z``            two-proportion z-test p      0.05       ``p < threshold``
``wasserstein``  W1 / max(std(ref), 0.001)    0.1        ``score >= threshold`` (numerical)
``jensenshannon`` Jensen-Shannon distance     0.1        ``score >= threshold``
``psi``          population stability index   0.1        ``score >= threshold``
``hellinger``    Hellinger distance           0.1        ``score >= threshold``
===============  ===========================  =========  =====================================

The package: :mod:`~charter.stats.drift.model` (methods, results),
:mod:`~charter.stats.drift.statistics` (the tests and distances over profile cells),
:mod:`~charter.stats.drift.columns` (column and dataset drift) and
:mod:`~charter.stats.drift.embeddings`.

Automatic selection (``method="auto"``) replicates
``evidently.legacy.calculations.stattests.registry._get_default_stattest``: with ``n`` the
reference's non-null rows and ``u`` the distinct non-null values of reference and current
together,

* ``n <= 1000``: numerical → ``ks`` when ``u > 5``, else ``chisquare`` when ``u > 2``, else
  ``z``; categorical → ``chisquare`` when ``u > 2``, else ``z``;
* ``n > 1000``: numerical → ``wasserstein`` when ``u > 5``, else ``jensenshannon``;
  categorical → ``jensenshannon``.

Exactness
---------
Categorical columns (category counts) give Evidently's exact numbers for every method. Numeric
columns kept value by value (an atomic grid: at most 1,000 distinct reference values, hence
every reference of at most 1,000 rows) give exact ``ks``, ``chisquare``, ``z`` and
``jensenshannon``, and exact ``psi`` unless the current data has several values the reference
never had. ``wasserstein`` is exact in every cell where the two distribution functions do not
cross (cell sums make the signed integral exact) and approximate in the few cells where they
do. ``ks`` on a quantile grid is the largest difference at the cell boundaries (a lower bound).
``psi``, ``jensenshannon`` and ``hellinger`` of continuous columns use Evidently's binning
(Sturges' rule over the combined range) with the mass of each reference cell spread uniformly
over it. :attr:`ColumnDrift.exact` says which case applies; ``docs/monitoring.md`` reports the
measured agreement.
"""

from charter.stats.drift.columns import (
    column_drift,
    dataset_drift,
    distinct_values,
    select_method,
)
from charter.stats.drift.embeddings import (
    EMBEDDING_THRESHOLDS,
    embedding_drift,
)
from charter.stats.drift.model import (
    BINARY_VALUES,
    FEW_VALUES,
    KS_MAX_EXACT_N,
    METHODS,
    SMALL_REFERENCE_ROWS,
    VALUE_BINNING_LIMIT,
    ColumnDrift,
    DatasetDrift,
    DriftMethod,
    MethodSpec,
)
from charter.stats.drift.statistics import (
    chisquare_pvalue,
    hellinger,
    jensenshannon,
    ks_pvalue,
    ks_statistic,
    profile_columns,
    psi,
    rebin,
    wasserstein,
    z_test_pvalue,
)

__all__ = [
    "BINARY_VALUES",
    "EMBEDDING_THRESHOLDS",
    "FEW_VALUES",
    "KS_MAX_EXACT_N",
    "METHODS",
    "SMALL_REFERENCE_ROWS",
    "VALUE_BINNING_LIMIT",
    "ColumnDrift",
    "DatasetDrift",
    "DriftMethod",
    "MethodSpec",
    "chisquare_pvalue",
    "column_drift",
    "dataset_drift",
    "distinct_values",
    "embedding_drift",
    "hellinger",
    "jensenshannon",
    "ks_pvalue",
    "ks_statistic",
    "profile_columns",
    "psi",
    "rebin",
    "select_method",
    "wasserstein",
    "z_test_pvalue",
]
