"""Findings of a rule: the one builder every check and the rule runner use.

:func:`rule_finding` is what ``ctx.finding(rule, ...)`` calls on any context (the gate's
:class:`~charter.checks.context.CheckContext`, monitoring's
:class:`~charter.checks.monitoring.state.MonitorState`): it takes the section, metric and
default controls from the rule's registered check and decides the verdict from the value and
the rule's bounds. :func:`error_finding` is the ``error`` finding of a rule that could not be
evaluated.
"""

from __future__ import annotations

import math
import os
import traceback
from typing import Any

from charter.checks.registry import CheckSpec, get_check
from charter.evidence import Finding, Severity, Threshold, Verdict
from charter.policy.schema import Rule


def rule_finding(
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
    """Build a finding for ``rule``.

    The verdict is, in order: ``verdict`` if given; ``passed`` if given; else whether the
    rule's threshold admits ``value``. A NaN value is an ERROR (undefined metric), which
    blocks like a failure; put the reason in ``details["reason"]``.
    """
    spec = get_check(rule.check)
    bounds = threshold if threshold is not None else rule.threshold
    if verdict is None:
        if passed is not None:
            verdict = Verdict.PASS if passed else Verdict.FAIL
        elif value is not None and math.isnan(value):
            verdict = Verdict.ERROR
        elif value is not None and bounds is not None:
            verdict = Verdict.PASS if bounds.admits(value) else Verdict.FAIL
        else:
            verdict = Verdict.PASS
    return Finding(
        rule_id=rule.id,
        check=rule.check,
        section=spec.section,
        verdict=verdict,
        severity=Severity(rule.severity),
        message=message,
        metric=metric or spec.metric,
        value=value,
        threshold=bounds,
        controls=_controls(spec, rule),
        details=details or {},
    )


def error_finding(
    section: str,
    rule: Rule,
    spec: CheckSpec | None,
    message: str,
    hint: str | None = None,
    exc: BaseException | None = None,
) -> Finding:
    """The ``error`` finding of a rule that could not be evaluated (it blocks like a failure).

    ``details["error"]`` holds the message, the hint and the exception's type (its traceback
    too when ``CHARTER_DEBUG`` is set); ``details["reason"]`` the message.
    """
    error: dict[str, Any] = {"message": message}
    if hint:
        error["hint"] = hint
    if exc is not None:
        error["type"] = type(exc).__name__
        if os.environ.get("CHARTER_DEBUG"):
            error["traceback"] = "".join(traceback.format_exception(exc))
    return Finding(
        rule_id=rule.id,
        check=rule.check,
        section=section,
        verdict=Verdict.ERROR,
        severity=Severity(rule.severity),
        message=f"could not evaluate: {message}",
        metric=spec.metric if spec is not None else None,
        threshold=rule.threshold,
        controls=_controls(spec, rule),
        details={"error": error, "reason": message},
    )


def _controls(spec: CheckSpec | None, rule: Rule) -> tuple[str, ...]:
    """The check's default controls, then the rule's own, without repeats."""
    defaults = spec.controls if spec is not None else ()
    return tuple(dict.fromkeys([*defaults, *rule.controls]))
