"""Checks: the registered functions that turn a rule into findings.

Import this package to register Charter's built-in checks. Plugins register theirs with
:func:`check` from a module named in the ``charter.checks`` entry point group.
"""

from charter.checks.context import CheckContext
from charter.checks.registry import CheckSpec, NoParams, available_checks, check, get_check

# Built-in checks register on import.
from charter.checks import data as _data  # noqa: F401  isort: skip
from charter.checks import fairness as _fairness  # noqa: F401  isort: skip
from charter.checks import performance as _performance  # noqa: F401  isort: skip
from charter.checks import privacy as _privacy  # noqa: F401  isort: skip
from charter.checks import explainability as _explainability  # noqa: F401  isort: skip
from charter.checks import monitoring as _monitoring  # noqa: F401  isort: skip

__all__ = ["CheckContext", "CheckSpec", "NoParams", "available_checks", "check", "get_check"]
