"""Window verdicts by estimate (default, strict) or by interval (significant violations only)."""

import pytest

from charter.checks.monitoring.metrics import _window_status
from charter.evidence import Threshold
from charter.monitor.run import monitor

from .conftest import make_policy

AT_MOST = Threshold(max=0.1)


@pytest.mark.parametrize(
    ("value", "ci", "by_estimate", "by_interval"),
    [
        (0.05, [0.02, 0.08], "ok", "ok"),
        (0.08, [0.04, 0.12], "at_risk", "at_risk"),  # inside, interval crosses the bound
        (0.12, [0.08, 0.16], "violation", "at_risk"),  # outside, not significantly
        (0.15, [0.11, 0.19], "violation", "violation"),  # the whole interval is outside
        (0.12, None, "violation", "violation"),  # no interval: the estimate decides
    ],
)
def test_window_status_by_estimate_and_by_interval(value, ci, by_estimate, by_interval) -> None:
    assert _window_status(AT_MOST, value, ci, by_interval=False) == by_estimate
    assert _window_status(AT_MOST, value, ci, by_interval=True) == by_interval


def test_a_lower_bound_is_judged_the_same_way() -> None:
    at_least = Threshold(min=0.8)
    assert _window_status(at_least, 0.78, [0.70, 0.86], by_interval=True) == "at_risk"
    assert _window_status(at_least, 0.70, [0.62, 0.79], by_interval=True) == "violation"


def test_interval_verdicts_fail_a_subset_of_the_estimate_verdicts(log, reference) -> None:
    strict = monitor("m", log, policy=make_policy(), reference=reference)
    lenient = monitor("m", log, policy=make_policy(window_verdict="interval"), reference=reference)
    for rule in ("parity.window",):
        by_estimate = next(f for f in strict.findings if f.rule_id == rule)
        by_interval = next(f for f in lenient.findings if f.rule_id == rule)
        assert by_interval.details["window_verdict"] == "interval"
        failing_strict = {
            w["start"] for w in by_estimate.details["windows"] if w.get("status") == "violation"
        }
        failing_lenient = {
            w["start"] for w in by_interval.details["windows"] if w.get("status") == "violation"
        }
        assert failing_lenient <= failing_strict
        for window in by_interval.details["windows"]:
            if window.get("status") == "violation":
                low, high = window["ci"]
                bounds = by_interval.threshold
                assert (bounds.max is not None and low > bounds.max) or (
                    bounds.min is not None and high < bounds.min
                )
