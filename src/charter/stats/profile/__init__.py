"""Data profiles: the compact, mergeable summary monitoring compares against.

A :class:`DataProfile` keeps, per column, what every drift statistic needs and nothing more:

* numeric columns: a :class:`~charter.stats.histogram.NumericHistogram` over a grid of reference
  quantile edges (or, with at most ``max_atoms`` distinct values, over the distinct values
  themselves), with min, max, mean, sum of squared deviations and the null count;
* categorical columns: :class:`~charter.stats.histogram.CategoryCounts`;
* embedding columns: a uniform sample of at most ``embedding_sample`` vectors.

A reference of at most ``max_atoms`` (1,000) rows therefore keeps every raw value (as distinct
values with their counts): the Kolmogorov-Smirnov and chi-square tests Evidently runs on small
references are computed exactly from it.

:func:`build_profile` profiles a reference; :func:`profile_against` summarises new data over a
reference's grids, optionally per group of rows (time windows), so both sides of a drift test
come from the same cells. Eager frames (pandas, polars, pyarrow) are counted with numpy, one
sort per chunk of rows; lazy frames (DuckDB, Spark, polars LazyFrame) bin inside their engine
through narwhals expressions and only the cell counts leave it.
"""

from charter.stats.profile.eager import (
    QUANTILE_SAMPLE,
    RowGroups,
    build_profile,
    profile_against,
)
from charter.stats.profile.lazy import (
    MAX_CODED_CATEGORIES,
    build_profile_lazy,
    category_code_expression,
    lazy_histograms,
    profile_against_lazy,
)
from charter.stats.profile.model import (
    DEFAULT_BINS,
    EMBEDDING_SAMPLE,
    INTEGER_CARDINALITY_LIMIT,
    MAX_ATOMS,
    PROFILE_FORMAT,
    PROFILE_VERSION,
    TEXT_UNIQUE_SHARE,
    ColumnKind,
    ColumnProfile,
    DataProfile,
    EmbeddingSample,
    embedding_sample,
    infer_kind,
)

__all__ = [
    "DEFAULT_BINS",
    "EMBEDDING_SAMPLE",
    "INTEGER_CARDINALITY_LIMIT",
    "MAX_ATOMS",
    "MAX_CODED_CATEGORIES",
    "PROFILE_FORMAT",
    "PROFILE_VERSION",
    "QUANTILE_SAMPLE",
    "TEXT_UNIQUE_SHARE",
    "ColumnKind",
    "ColumnProfile",
    "DataProfile",
    "EmbeddingSample",
    "RowGroups",
    "build_profile",
    "build_profile_lazy",
    "category_code_expression",
    "embedding_sample",
    "infer_kind",
    "lazy_histograms",
    "profile_against",
    "profile_against_lazy",
]
