"""Data-quality checks: schema, completeness, ranges, categories, uniqueness, size, distribution.

Every statistic is computed inside the frame's engine through narwhals expressions — one
``select`` (or one ``group_by``) per check — so the same checks run on pandas, polars and lazy
engines (DuckDB, polars LazyFrame) without pulling the data into Python. A follow-up query runs
only to list examples of what failed (unexpected categories, duplicated keys).

Checks that count offending rows report the *share* of rows as their metric and hold it to the
rule's ``max`` (default ``0``: any offending row fails), so ``max: 0.01`` tolerates 1 %.
"""

from charter.checks.data import schema, values

__all__ = ["schema", "values"]
