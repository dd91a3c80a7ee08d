"""Is the positive label the favourable outcome? A warning when the names say it may not be.

Charter's ``data.positive_label`` is the label of the **favourable** outcome (AIF360's
``favorable_label``): the loan repaid, the applicant hired. Disparate impact and the
four-fifths rule compare the rates of that outcome, so with a recidivism or default target,
where ``1`` is the unfavourable outcome, the default ``positive_label: 1`` turns the comparison
upside down (a disparate impact of 1.49 "passes" that is 0.67 the right way round).

:func:`unfavourable_target` reads the target's and the model's names; when they suggest that
the positive class is an adverse event and the policy did not state ``positive_label``, the
ratio rules say so in their finding.
"""

from __future__ import annotations

import re

from charter.policy.schema import Policy

#: Words that name an adverse event when they make up a target or model name.
ADVERSE_WORDS = (
    "recid",
    "reoffend",
    "arrest",
    "default",
    "delinquen",
    "fraud",
    "churn",
    "charge_off",
    "chargeoff",
    "bad",
    "late",
    "denied",
    "deny",
    "reject",
    "declin",
    "risk",
    "violent",
    "readmit",
)
#: Rules whose value depends on which outcome is favourable (rates of the positive label).
RATIO_CHECKS = (
    "disparate_impact",
    "four_fifths_rule",
    "demographic_parity_ratio",
    "statistical_parity_difference",
)


def unfavourable_target(policy: Policy, target: str | None) -> str | None:
    """A warning when ``positive_label`` was left at its default and names suggest it is adverse.

    Parameters
    ----------
    policy
        The policy; ``data.positive_label`` stated explicitly silences the warning.
    target
        The target column's name, when known.

    Returns
    -------
    str or None
        The warning text, or ``None``.
    """
    if "positive_label" in policy.data.model_fields_set:
        return None
    names = [n for n in (target, policy.data.prediction, policy.model.name) if n]
    found = [
        (name, word)
        for name in names
        for word in ADVERSE_WORDS
        if re.search(rf"(^|[^a-z]){word}", name.lower())
    ]
    if not found:
        return None
    name, word = found[0]
    return (
        f"data.positive_label is not set, so {policy.data.positive_label!r} counts as the"
        f" favourable outcome, but '{name}' suggests it is an adverse event ({word}): if"
        f" {policy.data.positive_label!r} is the unfavourable outcome, set data.positive_label"
        " to the favourable label (e.g. 0); set it to 1 to confirm and silence this warning"
    )
