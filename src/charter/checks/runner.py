"""The rule runner: resolve a rule's check, parse its params, run it, keep its findings.

The gate (:func:`charter.gate.run_gate`) and monitoring (:func:`charter.monitor.run.monitor`)
both evaluate rules through this module, so a rule behaves the same under either:

* :func:`prepare_rule` resolves the rule's check in its section and validates its ``params``,
  raising :class:`~charter.errors.PolicyError` (with the key path) when either is wrong. The
  gate prepares every rule before any runs: a policy it cannot read makes the gate meaningless.
* :func:`run_prepared` runs one prepared rule. A check that raises a
  :class:`~charter.errors.CharterError`, crashes with any other exception, or returns
  something that is not findings yields one ``error`` finding for the rule (it blocks like a
  failure), and the caller goes on with the next rule. Exceptions of the types in ``reraise``
  propagate instead (the gate passes :class:`~charter.errors.DataError`: bad input data stops
  the whole gate).
* :func:`run_rule` does both, and also turns an unknown check or bad params into an ``error``
  finding: the runner never raises for a rule's own fault.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from charter.checks.findings import error_finding
from charter.checks.registry import CheckSpec, get_check
from charter.errors import CharterError, CheckError, PolicyError
from charter.evidence import Finding
from charter.policy.schema import Rule


@dataclass(frozen=True)
class PreparedRule:
    """A rule whose check is resolved and whose params are validated.

    Attributes
    ----------
    section
        The policy section the rule sits in.
    rule
        The rule as written.
    spec
        Its registered check.
    params
        Its params, parsed by the check's parameter model.
    """

    section: str
    rule: Rule
    spec: CheckSpec
    params: BaseModel


def prepare_rule(section: str, rule: Rule) -> PreparedRule:
    """Resolve ``rule``'s check in ``section`` and validate its params.

    Raises
    ------
    PolicyError
        When the check is unknown or belongs to another section, or the params do not
        validate; the message names the key path and the hint how to list the check's params.
    """
    try:
        spec = get_check(rule.check, section=section)
    except CheckError as exc:
        raise PolicyError(
            exc.message, key_path=f"{section}.rules[{rule.id}]", hint=exc.hint
        ) from None
    try:
        params = spec.parse_params(rule.params)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise PolicyError(
            f"invalid params for check '{spec.id}': {detail}",
            key_path=f"{section}.rules[{rule.id}].params",
            hint=f"run `charter checks --section {section}` to see the check's parameters",
        ) from None
    return PreparedRule(section, rule, spec, params)


def run_prepared(
    ctx: Any, prepared: PreparedRule, *, reraise: tuple[type[Exception], ...] = ()
) -> list[Finding]:
    """Run one prepared rule on ``ctx``; a failure becomes an ``error`` finding.

    Parameters
    ----------
    ctx
        The context the rule's section runs on.
    prepared
        The rule, its check and its params.
    reraise
        Exception types to let through instead of turning them into a finding.
    """
    section, rule, spec = prepared.section, prepared.rule, prepared.spec
    try:
        result = spec.func(ctx, rule, prepared.params)
    except reraise:
        raise
    except CharterError as exc:
        return [error_finding(section, rule, spec, exc.message, exc.hint, exc)]
    except Exception as exc:
        if os.environ.get("CHARTER_DEBUG"):
            traceback.print_exc()
        return [error_finding(section, rule, spec, f"{type(exc).__name__}: {exc}", None, exc)]
    found = result if isinstance(result, list) else [result]
    if not found or not all(isinstance(f, Finding) for f in found):
        return [
            error_finding(
                section,
                rule,
                spec,
                f"the check returned {type(result).__name__}, not findings",
                "a check must return a Finding or a list of Findings (use ctx.finding)",
            )
        ]
    return found


def run_rule(
    ctx: Any, section: str, rule: Rule, *, reraise: tuple[type[Exception], ...] = ()
) -> list[Finding]:
    """Prepare and run one rule; an unknown check or bad params is an ``error`` finding too."""
    try:
        prepared = prepare_rule(section, rule)
    except PolicyError as exc:
        spec = _spec_or_none(rule.check)
        return [error_finding(section, rule, spec, exc.message, exc.hint, exc)]
    return run_prepared(ctx, prepared, reraise=reraise)


def _spec_or_none(check_id: str) -> CheckSpec | None:
    try:
        return get_check(check_id)
    except CheckError:
        return None
