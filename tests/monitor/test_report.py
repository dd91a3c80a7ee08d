import re
from datetime import UTC, datetime

import numpy as np
import pytest

from charter.errors import DataError
from charter.monitor.report import render_report
from charter.monitor.run import monitor
from charter.monitor.windows import Window, parse_time


@pytest.fixture(scope="module")
def html(log, policy, reference) -> str:
    return render_report(monitor("credit-risk", log, policy=policy, reference=reference))


def test_report_is_self_contained(html: str) -> None:
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "https://" not in html.replace("http://www.w3.org", "")


def test_report_plots_scores_drifted_distributions_and_metrics_over_time(html: str) -> None:
    assert "Drift score per column" in html and "Drifted columns per window" in html
    # scores, share; income, age; two window rules; the prediction drift per window
    assert html.count("<svg") == 2 + 2 + 2 + 1
    assert "Prediction drift per window" in html
    for title in ("income: wasserstein", "age: wasserstein", "parity.window", "accuracy.window"):
        assert title in html


def test_windows_align_to_the_epoch_and_weeks_start_on_monday() -> None:
    week = Window.parse("1w")
    assert week.start_of(datetime(2024, 3, 7, 15, tzinfo=UTC)) == datetime(2024, 3, 4, tzinfo=UTC)
    six = Window.parse("6h")
    assert six.start_of(datetime(2024, 3, 7, 15, 30, tzinfo=UTC)).hour == 12
    ns = np.array([np.datetime64("2024-03-07T15:30", "ns").view(np.int64)])
    assert week.start_of_index(int(week.index_of_ns(ns)[0])) == datetime(2024, 3, 4, tzinfo=UTC)
    with pytest.raises(DataError, match="not a window size"):
        Window.parse("0d")
    assert parse_time("2024-03-01T06:00:00+01:00") == datetime(2024, 3, 1, 5, tzinfo=UTC)


def test_the_windows_table_has_a_verdict_per_window_with_its_rules(log, policy, reference):
    from charter.monitor.report import window_verdicts

    result = monitor("credit-risk", log, policy=policy, reference=reference)
    verdicts = window_verdicts(result)
    html = render_report(result)
    assert "<th>window</th><th>verdict</th>" in html
    assert len(verdicts) == len(result.run.windows)
    # a window is a violation exactly when some rule judged it so, and the rule is named
    for finding in result.findings:
        for w in finding.details.get("windows") or []:
            if isinstance(w, dict) and w.get("status") == "violation":
                word, rules = verdicts[w["start"]]
                assert word == "violation" and f"{finding.rule_id} (violation)" in rules
