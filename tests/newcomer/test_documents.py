"""Items 16 and 17 of issue 11: the model card's charts and explainability; the compliance
report's ids, per-framework summary and a filter that works with scripts disabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_support import Team

from charter.artifacts import save_model
from charter.cards import ControlStatus, compliance_report, model_card, render_card
from charter.cards.render import render_compliance
from charter.gate import check

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def registered(team: Team, pipeline, train_csv: Path, policy_file: Path, tmp_path: Path) -> Team:
    model = save_model(pipeline, tmp_path / "pipe.skops")
    check(policy_file, train_csv, model=model).write(tmp_path / "gate" / "evidence.json")
    team.registry.register(
        "newcomer", model=model, evidence=tmp_path / "gate", policy=policy_file, actor=team["eli"]
    )
    return team


def test_the_card_has_charts_and_the_explainability_value(registered: Team) -> None:
    card = model_card(registered.registry, "newcomer", 1, actor=registered["otto"])
    section = card.section("quantitative_analyses")
    titles = [c.title for c in section.charts]
    assert titles == [
        "parity: demographic_parity_difference — passed",
        "explanations: protected_importance_share — passed",
    ]
    assert all(c.svg.startswith("<svg") for c in section.charts)
    assert "selection_rate_ci" not in section.charts[0].svg  # drawn, not dumped
    unitary = section.tables[0]
    row = next(r for r in unitary.rows if r[0] == "explanations")
    assert row[1] == "protected_importance_share" and row[-1] == "passed"
    items = {i.label: i.value for i in section.items}
    text = items["Explainability explanations"]
    assert text.startswith("passed: protected_importance_share = ")
    assert "(<= 0.6)" in text and "top features: " in text
    assert items["Explained with (explanations)"].startswith(
        "LinearExplainer on LogisticRegression"
    )
    html = render_card(card, "html")
    assert html.count("<svg") == 2 and 'class="chart"' in html
    assert "&#34;Segoe UI&#34;" not in html  # the style sheet is not escaped


def test_compliance_report_summary_ids_and_filter(registered: Team, tmp_path: Path) -> None:
    report = compliance_report(registered.registry, "newcomer", 1, actor=registered["otto"])
    html = render_compliance(report, "html")
    assert "<script" not in html
    for control in report.controls:
        assert f'<td class="id"><code>{control.id}</code></td>' in html
    assert "td.id code { white-space: nowrap; }" in html
    summary = html[html.index('<table class="summary">') : html.index("</table>")]
    for framework, title in report.frameworks.items():
        rows = [c for c in report.controls if c.framework == framework]
        counts = [
            sum(c.status is status for c in rows)
            for status in (
                ControlStatus.SATISFIED,
                ControlStatus.FAILED,
                ControlStatus.NEEDS_PERSON,
            )
        ]
        cells = "".join(f'<td class="num">{n}</td>' for n in [*counts, len(rows)])
        assert f"{title}</a></td>{cells}" in summary
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "compliance.html"
    page_file.write_text(html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.goto(page_file.as_uri())
        shown = {}
        for choice in ("failed", "needs_person", "satisfied", "all"):
            page.click(f'label[for="show-{choice}"]')
            shown[choice] = page.evaluate(
                """() => [...document.querySelectorAll('table.controls tbody tr')]
                    .filter(r => r.offsetParent !== null).map(r => r.className)"""
            )
        ids_height = page.evaluate(
            "Math.max(...[...document.querySelectorAll('td.id code')]"
            ".map(c => c.getBoundingClientRect().height))"
        )
        browser.close()
    for choice in ("failed", "needs_person", "satisfied"):
        expected = sum(c.status.value == choice for c in report.controls)
        assert shown[choice] == [f"row-{choice}"] * expected
    assert len(shown["all"]) == len(report.controls)
    assert ids_height < 24  # one line: no id wraps
