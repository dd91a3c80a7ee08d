"""Rendering the gate report: this tree against another source tree, in one run.

The gate of ``bench_check.py`` (data, performance, fairness with bootstrap intervals, an
intersectional rule, SHAP) runs once on the demo's synthetic credit data at ``--rows`` rows;
then ``render_html`` of its evidence is timed (median of ``--repeat`` after a warm-up), and the
page's height at 1280 px is measured in Debian's headless Chromium. With ``--against SRC``
the same script runs in a subprocess on the source tree ``SRC`` (e.g. ``/work/main/src``, the
tree before a change) and the ratios are printed.

    python benchmarks/bench_report.py --rows 100000 --repeat 5 --against /work/main/src
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "credit_risk"))

from gate_policy import POLICY  # noqa: E402  (the gate of bench_check.py)


def measure(rows: int, repeat: int) -> dict[str, float]:
    """Seconds to render the report (median) and the page height in px."""
    import lightgbm as lgb
    from dataset import FEATURES, TARGET, make_credit_data

    import charter
    from charter.report import render_html

    frame = make_credit_data(rows, seed=7)
    model = lgb.LGBMClassifier(n_estimators=60, num_leaves=15, verbose=-1, random_state=0)
    model.fit(frame[FEATURES], frame[TARGET])
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.yaml"
        policy.write_text("version: 1\n" + POLICY, encoding="utf-8")
        evidence = charter.check(policy, frame, model=model, progress=False)
        render_html(evidence)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            html = render_html(evidence)
            times.append(time.perf_counter() - started)
        page = Path(folder) / "report.html"
        page.write_text(html, encoding="utf-8")
        height = _height(page)
    return {"render_seconds": statistics.median(times), "height_px": height}


def _height(page: Path) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.goto(page.as_uri())
        height = float(tab.evaluate("document.documentElement.scrollHeight"))
        browser.close()
    return height


def main() -> None:
    """Measure here, and in ``--against`` when given; print both and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another source tree to compare with")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    ours = measure(args.rows, args.repeat)
    if args.json:
        print(json.dumps(ours))
        return
    print(f"{args.rows:,} rows; render_html median of {args.repeat}")
    print(f"  this tree: {ours['render_seconds']:.3f} s, page {ours['height_px']:,.0f} px tall")
    if args.against is None:
        return
    env = {**os.environ, "PYTHONPATH": str(args.against)}
    command = [sys.executable, __file__, "--rows", str(args.rows), "--repeat", str(args.repeat)]
    done = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{args.against} failed:\n{done.stderr[-2000:]}")
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"  {args.against}: {theirs['render_seconds']:.3f} s,"
        f" page {theirs['height_px']:,.0f} px tall"
    )
    print(
        f"  ratio: {theirs['render_seconds'] / ours['render_seconds']:.1f}x faster,"
        f" {theirs['height_px'] / ours['height_px']:.1f}x shorter"
    )


if __name__ == "__main__":
    main()
