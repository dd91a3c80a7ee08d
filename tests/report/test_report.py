from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from charter.evidence import Evidence, Finding, Fingerprint, Severity, Threshold, Verdict
from charter.report import render_html, render_markdown, write_outputs
from charter.report.html import _reference_lines, format_number


def _evidence() -> Evidence:
    groups = [
        {
            "group": "sex=F",
            "key": ["F"],
            "count": 812,
            "selection_rate": 0.21,
            "selection_rate_ci": [0.18, 0.24],
        },
        {
            "group": "sex=M",
            "key": ["M"],
            "count": 1188,
            "selection_rate": 0.45,
            "selection_rate_ci": [0.42, 0.48],
        },
    ]
    findings = (
        Finding(
            rule_id="dp",
            check="demographic_parity_difference",
            section="fairness",
            verdict=Verdict.FAIL,
            message="selection rates differ by 0.24",
            metric="demographic_parity_difference",
            value=0.24,
            threshold=Threshold(max=0.1),
            controls=("eu-ai-act:art-10",),
            details={
                "groups": groups,
                "ci": [0.2, 0.28],
                "reason": "sex=F is selected less",
                "weird_key": {"nested_thing": [1, 2, 3]},
            },
        ),
        Finding(
            rule_id="shap",
            check="shap_importance",
            section="explainability",
            verdict=Verdict.PASS,
            message="explanations are finite",
            details={"importances": {"income": 0.31, "debt": 0.52, "sex": 0.02}},
        ),
        Finding(
            rule_id="auc",
            check="roc_auc",
            section="performance",
            verdict=Verdict.ERROR,
            severity=Severity.WARN,
            message="could not evaluate: <script>alert(1)</script>",
            metric="roc_auc",
            value=math.nan,
            threshold=Threshold(min=0.7),
            details={
                "error": {"message": "no scores", "hint": "pass --scores"},
                "reason": "no scores",
            },
        ),
    )
    return Evidence(
        model_name="credit-risk",
        policy=Fingerprint(kind="policy", sha256="ab" * 32, path="policy.yaml"),
        inputs={"data": Fingerprint(kind="data", sha256="cd" * 32, rows=2000, format="parquet")},
        findings=findings,
        extras={
            "data_summary": {
                "rows": 2000,
                "columns": [
                    {"name": "income", "dtype": "Float64", "null_fraction": 0.0},
                    {"name": "debt", "dtype": "Float64", "null_fraction": 0.05},
                    {"name": "sex", "dtype": "String", "null_fraction": 0.0},
                ],
            },
            "run": {"target": "repaid", "sensitive": ["sex"], "features": ["income", "debt"]},
            "models": {"model": {"type": "lightgbm.sklearn.LGBMClassifier"}},
        },
    )


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(_evidence())


def test_report_is_self_contained(html: str) -> None:
    assert "<script" not in html.replace("&lt;script", "")
    assert "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    # every absolute URL left is an XML namespace of the inline SVGs
    for url in re.findall(r"https?://[^\s\"'<>]+", html):
        assert url.startswith(
            ("http://www.w3.org/", "http://purl.org/", "http://creativecommons.org/")
        ), url


def test_header_shows_model_policy_hash_and_status(html: str) -> None:
    head = html[html.index("<header>") : html.index("</header>")]
    assert "credit-risk" in head and "abababababab" in head and "failed" in head
    assert "lightgbm.sklearn.LGBMClassifier" in head


def test_fairness_finding_has_group_bars_threshold_line_and_ci(html: str) -> None:
    card = html[html.index('id="rule-dp"') : html.index('id="rule-shap"')]
    assert card.count("<svg") == 1  # the per-group bars (the bound gauge is HTML and CSS)
    assert "lowest + 0.1" in card  # the bound drawn on the group scale
    assert 'class="gauge"' in card and "max 0.1" in card
    assert "CI 0.2" in card and "0.28" in card
    assert "sex=F is selected less" in card
    assert "sex=M" in card and "1,188" in card


def test_reference_line_puts_the_bound_on_the_group_scale() -> None:
    finding = _evidence().findings[0]
    groups = finding.details["groups"]
    [(y, _)] = _reference_lines(finding, groups, ["selection_rate"])
    assert y == pytest.approx(0.21 + 0.1)
    ratio = finding.model_copy(
        update={"metric": "demographic_parity_ratio", "threshold": Threshold(min=0.8)}
    )
    [(y, _)] = _reference_lines(ratio, groups, ["selection_rate"])
    assert y == pytest.approx(0.45 * 0.8)
    assert _reference_lines(finding, groups, ["selection_rate", "tpr"]) == []


def test_unknown_detail_keys_are_rendered_generically(html: str) -> None:
    card = html[html.index('id="rule-dp"') : html.index('id="rule-shap"')]
    assert "weird_key" in card and "nested_thing" in card and "1, 2, 3" in card


def test_importances_are_drawn_and_listed_largest_first(html: str) -> None:
    card = html[html.index('id="rule-shap"') : html.index('id="rule-auc"')]
    assert "<svg" in card
    card = card[card.index("mean |SHAP|</th>") :]
    assert card.index(">debt<") < card.index(">income<") < card.index(">sex<")


def test_messages_are_escaped_and_errors_show_their_hint(html: str) -> None:
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    card = html[html.index('id="rule-auc"') :]
    assert "pass --scores" in card and "NaN" in card


def test_data_summary_lists_columns_with_roles_and_missing_share(html: str) -> None:
    section = html[html.index('id="data"') : html.index('id="fingerprints"')]
    assert "2,000 rows, 3 columns" in section
    assert "5.00%" in section and "sensitive" in section and "feature" in section


def test_report_is_reproducible_from_evidence_json(tmp_path: Path) -> None:
    evidence = _evidence()
    outputs = write_outputs(evidence, tmp_path / "out")
    again = render_html(Evidence.read(outputs.evidence))
    assert again == outputs.report.read_text(encoding="utf-8")


def test_markdown_has_one_row_per_finding_and_the_blocking_list() -> None:
    md = render_markdown(_evidence(), report_path="out/report.html")
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    assert "failed" in md.splitlines()[0]
    assert "- `dp`: selection rates differ by 0.24" in md
    assert (
        "| `dp` | fairness | demographic_parity_difference | 0.24 | <= 0.1 | ❌ failed-blocking |"
        in md
    )
    assert "⛔ error" in rows[2]  # a warn rule that could not be computed
    assert "out/report.html" in md


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.24, "0.24"),
        (0.0001234, "1.234e-04"),
        (2000.0, "2,000"),
        (math.nan, "NaN"),
        (12, "12"),
        (None, "–"),
        (1.23456, "1.235"),
        (0.0, "0"),
        (0.5, "0.5"),
    ],
)
def test_numbers_are_formatted_for_people(value, text) -> None:
    assert format_number(value) == text


def _stats_finding(result, threshold: Threshold) -> Finding:
    details = result.to_details()
    return Finding(
        rule_id=result.metric,
        check=result.metric,
        section="fairness",
        verdict=Verdict.PASS if threshold.admits(result.value) else Verdict.FAIL,
        message="m",
        metric=result.metric,
        value=result.value,
        threshold=threshold,
        details=details,
    )


def test_report_draws_the_stats_engine_results_with_their_own_rates() -> None:
    import numpy as np

    from charter.stats.fairness import demographic_parity_difference, disparate_impact

    rng = np.random.default_rng(3)
    sex = rng.choice(["F", "M"], 3000)
    y_true = rng.integers(0, 2, 3000)
    y_pred = (rng.random(3000) < np.where(sex == "M", 0.5, 0.3)).astype(int)
    frame = {"sex": sex, "y": y_true, "p": y_pred}
    dpd = demographic_parity_difference(
        "y", "p", sensitive_features="sex", data=frame, bootstrap=50
    )
    di = disparate_impact("y", "p", sensitive_features="sex", data=frame, privileged={"sex": "M"})
    f_dpd = _stats_finding(dpd, Threshold(max=0.1))
    f_di = _stats_finding(di, Threshold(min=0.8, max=1.25))
    groups = f_dpd.details["groups"]
    rates = {g["group"]: g["selection_rate"] for g in groups}
    [(y, _)] = _reference_lines(f_dpd, groups, ["selection_rate"], f_dpd.details)
    assert y == pytest.approx(min(rates.values()) + 0.1)
    lines = _reference_lines(f_di, f_di.details["groups"], ["selection_rate"], f_di.details)
    assert [round(v, 12) for v, _ in lines] == [
        round(rates["sex=M"] * 0.8, 12),
        round(rates["sex=M"] * 1.25, 12),
    ]
    evidence = _evidence().model_copy(update={"findings": (f_dpd, f_di)})
    html = render_html(evidence)
    card = html[html.index(f'id="rule-{dpd.metric}"') : html.index(f'id="rule-{di.metric}"')]
    table = card[card.index('<table class="groups">') :]
    table = table[: table.index("</table>")]
    # only the metric's own rate is drawn and tabulated, not every standard rate
    assert "selection rate" in table and "true positive rate" not in table
    assert "privileged × 0.8" in html


def test_worst_group_finding_shows_the_worst_groups_interval_not_the_overall_one() -> None:
    # the shape `checks.performance` writes for `aggregate: worst_group` (from a demo run)
    finding = Finding(
        rule_id="worst-group-recall",
        check="recall",
        section="performance",
        verdict=Verdict.PASS,
        message="recall (worst group) = 0.769",
        metric="recall",
        value=0.7690,
        threshold=Threshold(min=0.6),
        details={
            "aggregate": "worst_group",
            "metric": "recall",
            "value": 0.7955,
            "ci": [0.7826, 0.8090],
            "worst_group": {"group": "sex=F", "value": 0.7690, "ci": [0.7451, 0.7930]},
        },
    )
    assert finding.interval == [0.7451, 0.7930]
    overall = finding.model_copy(update={"details": {**finding.details, "aggregate": "overall"}})
    assert overall.interval == [0.7826, 0.8090]
    html = render_html(_evidence().model_copy(update={"findings": (finding,)}))
    assert "CI 0.7451 – 0.793" in html
    assert "0.7826" not in html
