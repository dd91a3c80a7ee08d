"""Item 15 of issue 11: the gate report is compact and readable at 1280 px, in a real Chromium.

Groups of an intersectional finding (8 groups, two attributes each) must not have colliding
axis labels; nothing may overflow the page sideways; columns come in reading order; every
data column has a role. The layout is measured in Debian's headless Chromium.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from charter.evidence import Evidence, Finding, Fingerprint, Threshold, Verdict
from charter.report import render_html

CHROMIUM = Path("/usr/bin/chromium")
RACES = ["Black", "White", "Asian", "Hispanic"]


def _evidence(n_findings: int = 6) -> Evidence:
    groups = [
        {
            "group": f"race={race}, sex={sex}",
            "count": 100 + 37 * i,
            "selection_rate": 0.2 + 0.07 * i,
            "selection_rate_ci": [0.15 + 0.07 * i, 0.25 + 0.07 * i],
        }
        for i, (race, sex) in enumerate((r, s) for r in RACES for s in ("F", "M"))
    ]
    findings = tuple(
        Finding(
            rule_id=f"parity-{k}",
            check="demographic_parity_difference",
            section="fairness",
            verdict=Verdict.FAIL if k == 0 else Verdict.PASS,
            message="selection rates differ",
            metric="demographic_parity_difference",
            value=0.49,
            threshold=Threshold(max=0.1),
            details={"groups": groups, "ci": [0.4, 0.55], "aggregation": "difference"},
        )
        for k in range(n_findings)
    )
    return Evidence(
        model_name="credit-risk",
        policy=Fingerprint(kind="policy", sha256="ab" * 32, path="/a/long/path/" * 8),
        inputs={
            "data": Fingerprint(kind="data", sha256="cd" * 32, path="/data/" + "x" * 120),
        },
        findings=findings,
        extras={
            "data_summary": {
                "rows": 2000,
                "columns": [
                    {"name": c, "dtype": "String", "null_fraction": 0.0}
                    for c in ("applicant_id", "income", "race", "sex", "age_band", "y")
                ],
            },
            "run": {
                "target": "y",
                "sensitive": ["race", "sex"],
                "protected": ["race", "sex", "age_band"],
                "id_column": "applicant_id",
                "features": ["income"],
            },
        },
    )


def test_every_column_gets_a_role_and_the_sensitive_list_reads_cleanly() -> None:
    from charter.report.html import data_roles

    evidence = _evidence(1)
    roles = data_roles(evidence.extras["data_summary"]["columns"], evidence.extras["run"])
    assert roles == {
        "applicant_id": "id",
        "income": "feature",
        "race": "sensitive",
        "sex": "sensitive",
        "age_band": "sensitive",
        "y": "target",
    }
    html = render_html(evidence)
    assert "sensitive: <code>race</code>, <code>sex</code>." in html


def test_per_group_columns_come_in_reading_order() -> None:
    html = render_html(_evidence(1))
    table = html[html.index('<table class="groups">') :]
    header = table[: table.index("</tr>")]
    order = [header.index(h) for h in ("group", ">n<", "selection rate<", "selection rate CI")]
    assert order == sorted(order)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_at_1280px_nothing_overflows_and_axis_labels_do_not_collide(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(_evidence()), encoding="utf-8")
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_file.as_uri())
        width = page.evaluate("document.documentElement.scrollWidth")
        height = page.evaluate("document.documentElement.scrollHeight")
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('#rule-parity-0 svg g[id^="xtick"]')]
                .map(g => [...g.querySelectorAll('text')].map(t => t.getBoundingClientRect()))
                .filter(rs => rs.length)
                .map(rs => [Math.min(...rs.map(r => r.left)), Math.max(...rs.map(r => r.right)),
                            Math.min(...rs.map(r => r.top)), Math.max(...rs.map(r => r.bottom))])"""
        )
        browser.close()
    assert width <= 1280
    assert len(boxes) >= 8
    ordered = sorted(boxes)
    for (_, right, _, _), (left, _, _, _) in pairwise(ordered):
        assert right <= left + 0.5, "x-axis labels overlap"
    # readable: the three-line labels are drawn at least 9 px per line (not scaled down)
    assert min(bottom - top for _, _, top, bottom in boxes) >= 27
    # six findings with 8-group charts: compact, only the failing one is open
    assert height < 3000, height  # main drew this page 8,553 px tall and 1,793 px wide
