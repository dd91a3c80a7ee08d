"""Charter's credit-risk walk-through: a biased model fails the gate, its mitigated one passes.

Run it with ``make demo`` (or ``python examples/credit_risk/demo.py --out demo-output``). The
story is told in chapters, one function each, run in order by :func:`main`; every chapter reads
and extends the :class:`Demo` state, so later chapters (registry, monitoring) append themselves
to :data:`CHAPTERS`.

1. data: a deterministic synthetic credit data set with a planted bias against women;
2. train: a LightGBM model that never sees ``sex`` but learns the bias through proxies;
3. gate: ``charter check`` against ``policy.yaml`` — the fairness rules block the model;
4. mitigate: reweighing (AIF360's formula), a new model, and the gate again — it passes.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataset import FEATURES, TARGET, make_credit_data  # noqa: E402

import charter  # noqa: E402
from charter.cli.check_cmds import print_summary  # noqa: E402
from charter.evidence import Evidence  # noqa: E402
from charter.mitigate import mitigate  # noqa: E402
from charter.report import write_outputs  # noqa: E402

console = Console()


@dataclass
class Demo:
    """What the chapters share: where things are and what the gates said."""

    out: Path
    rows: int = 20_000
    seed: int = 7
    policy: Path = HERE / "policy.yaml"
    train: Path | None = None
    holdout: Path | None = None
    model: Path | None = None
    mitigated: Path | None = None
    evidence: dict[str, Evidence] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def chapter_data(demo: Demo) -> None:
    """1. A synthetic credit data set with a known bias, split into training and holdout."""
    console.print(Rule("1 · data"))
    frame = make_credit_data(demo.rows, seed=demo.seed)
    cut = int(len(frame) * 0.7)
    demo.train = demo.out / "train.parquet"
    demo.holdout = demo.out / "holdout.parquet"
    frame.iloc[:cut].reset_index(drop=True).to_parquet(demo.train)
    frame.iloc[cut:].reset_index(drop=True).to_parquet(demo.holdout)
    rates = frame.groupby("sex")[TARGET].mean()
    console.print(
        f"{len(frame):,} applicants ({cut:,} to train, {len(frame) - cut:,} held out);"
        f" recorded repayment rate: women {rates['F']:.1%}, men {rates['M']:.1%}."
        "\nA share of women who repaid were recorded as defaults (historical label bias), and"
        " women work part-time more often: a model can learn the bias without seeing `sex`.",
        highlight=False,
    )


def chapter_train(demo: Demo) -> None:
    """2. A LightGBM model on the financial features only (no sex, no age)."""
    import lightgbm as lgb
    import pandas as pd

    console.print(Rule("2 · train"))
    assert demo.train is not None
    train = pd.read_parquet(demo.train)
    model = lgb.LGBMClassifier(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=15,
        random_state=0,
        n_jobs=1,
        verbose=-1,
    ).fit(train[FEATURES], train[TARGET])
    demo.model = charter.save_model(model, demo.out / "model.skops")
    console.print(
        f"LightGBM on {', '.join(FEATURES)} → [bold]{demo.model}[/] (skops format: loads"
        " without running pickle code)",
        highlight=False,
    )


def chapter_gate(demo: Demo) -> None:
    """3. The gate: the policy's rules against the holdout data. The fairness rules block."""
    console.print(Rule("3 · gate"))
    assert demo.model is not None and demo.holdout is not None
    console.print(
        f"$ charter check --policy {_rel(demo.policy)} --model {_rel(demo.model)}"
        f" --data {_rel(demo.holdout)} --out {_rel(demo.out / 'gate-original')}",
        style="dim",
        highlight=False,
    )
    evidence = _gate(demo, "original", demo.model)
    if evidence.passed:
        _abort("the original model was expected to fail the fairness gate but passed")
    blocked = ", ".join(f.rule_id for f in evidence.blocking_findings)
    console.print(
        f"[bold red]Blocked[/] as the policy intends: {blocked}. The report shows the"
        " per-group approval rates against the bounds.",
        highlight=False,
    )


def chapter_mitigate(demo: Demo) -> None:
    """4. Reweighing (AIF360's formula), a new model, and the gate again: it passes."""
    import pandas as pd

    console.print(Rule("4 · mitigate"))
    assert demo.model is not None and demo.train is not None
    original = charter.load_model(demo.model)
    train = pd.read_parquet(demo.train)
    console.print(
        f"$ charter mitigate --model {_rel(demo.model)} --data {_rel(demo.train)}"
        f" --policy {_rel(demo.policy)} --method reweighing"
        f" --out {_rel(demo.out / 'model-mitigated.skops')}",
        style="dim",
        highlight=False,
    )
    fair = mitigate(original, train, target=TARGET, sensitive=["sex"], method="reweighing")
    demo.mitigated = charter.save_model(fair, demo.out / "model-mitigated.skops")
    evidence = _gate(demo, "mitigated", demo.mitigated)
    if not evidence.passed:
        failing = ", ".join(f.rule_id for f in evidence.blocking_findings)
        _abort(f"the mitigated model was expected to pass the gate; blocked by {failing}")
    before = {f.rule_id: f.value for f in demo.evidence["original"].findings}
    after = {f.rule_id: f.value for f in evidence.findings}
    changes = ", ".join(
        f"{rule} {before[rule]:.3f} → {after[rule]:.3f}"
        for rule in ("approval-parity", "equalized-odds", "four-fifths", "discrimination")
        if before.get(rule) is not None and after.get(rule) is not None
    )
    console.print(f"[bold green]Passed[/] after reweighing: {changes}.", highlight=False)


def _gate(demo: Demo, name: str, model: Path) -> Evidence:
    started = time.perf_counter()
    assert demo.holdout is not None
    evidence = charter.check(demo.policy, demo.holdout, model=model)
    outputs = write_outputs(evidence, demo.out / f"gate-{name}")
    print_summary(evidence)
    console.print(
        f"gate ran in {time.perf_counter() - started:.1f} s; report: [bold]{outputs.report}[/]",
        highlight=False,
    )
    demo.evidence[name] = evidence
    demo.reports[name] = outputs.report
    return evidence


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _abort(message: str) -> None:
    console.print(f"[bold red]demo failed:[/] {message}", highlight=False)
    raise SystemExit(1)


#: The chapters, in order. Later chapters append themselves here.
CHAPTERS: list[Callable[[Demo], None]] = [
    chapter_data,
    chapter_train,
    chapter_gate,
    chapter_mitigate,
]


def main(argv: list[str] | None = None) -> int:
    """Run every chapter in order and say where the reports are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    parser.add_argument("--rows", type=int, default=20_000, help="applicants to generate")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    demo = Demo(out=args.out, rows=args.rows)
    started = time.perf_counter()
    for chapter in CHAPTERS:
        chapter(demo)
    console.print(Rule("done"))
    for name, report in demo.reports.items():
        console.print(f"{name:>10} model report: [bold]{report}[/]", highlight=False)
    console.print(
        f"Everything is in {demo.out}/ ({time.perf_counter() - started:.0f} s). Open the"
        " reports in a browser; evidence.json next to each is the record.",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
