"""Full-page screenshots of Charter's documents in a real headless Chromium.

Run ``make demo`` (or ``python examples/credit_risk/demo.py --out DIR``) first, then::

    python examples/screenshots.py --demo demo-output --out test-output

It writes ``report.png`` (the gate report of the original model), ``report-mitigated.png``,
``model-card.png``, ``compliance.png`` and ``monitoring.png`` at 1280 px wide, and prints each
page's height, so a change to the documents can be looked at and measured. Debian's
``/usr/bin/chromium`` is used (Playwright's own download is not needed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {
    "report": "gate-original/report.html",
    "report-mitigated": "gate-mitigated/report.html",
    "model-card": "model-card.html",
    "compliance": "compliance.html",
    "monitoring": "monitoring/report.html",
}


def shoot(demo: Path, out: Path, width: int = 1280) -> dict[str, int]:
    """Screenshot every page found under ``demo``; return each page's height in CSS pixels."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    heights: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        for name, rel in PAGES.items():
            source = demo / rel
            if not source.exists():
                continue
            page.goto(source.resolve().as_uri())
            heights[name] = int(page.evaluate("document.documentElement.scrollHeight"))
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        browser.close()
    return heights


def main() -> None:
    """Parse the arguments, take the screenshots, print the heights."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=Path("demo-output"))
    parser.add_argument("--out", type=Path, default=Path("test-output"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    for name, height in shoot(args.demo, args.out, args.width).items():
        print(f"{name:18} {height:>7,} px tall -> {args.out / (name + '.png')}")


if __name__ == "__main__":
    main()
