"""Charter's credit-risk walk-through: a biased model fails the gate, its mitigated one passes.

Run it with ``make demo`` (or ``python examples/credit_risk/demo.py --out demo-output``). The
story is told in chapters, one function each, run in order by :func:`main` from
:data:`CHAPTERS`; every chapter reads and extends the :class:`Demo` state.

1. data: a deterministic synthetic credit data set with a planted bias against women;
2. train: a LightGBM model that never sees ``sex`` but learns the bias through proxies;
3. gate: ``charter check`` against ``policy.yaml`` — the fairness rules block the model;
4. mitigate: reweighing (AIF360's formula), a new model, and the gate again — it passes;
5. registry (``registry_chapter.py``): both models registered with their evidence and a
   reference profile of the training data and the model's outputs; the biased one refused,
   the mitigated one approved by two approvers and promoted; the audit trail verified, the
   model card and compliance report written;
6. monitor: four weeks of production traffic drift after a date; ``charter monitor`` on the
   production version flags that day, fairness degrades the same day; the webhook alert, the
   report, the evidence recorded in the registry, the version flagged ``needs-review`` and the
   audit trail show it.
7. serving (``serving_chapter.py``): ``charter serve`` answers a shop's applications with the
   production version, each explained and logged; the bureau posts outcomes; ``charter
   monitor`` reads the served log with them; an approver suspends serving and another resumes.
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
from registry_chapter import chapter_registry, charter_as  # noqa: E402
from serving_chapter import chapter_serving  # noqa: E402

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


def chapter_monitor(demo: Demo) -> None:
    """6. Production: traffic drifts after a date; monitoring the production version flags it."""
    import json
    import threading
    from datetime import UTC, date, datetime, timedelta
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import numpy as np
    import pandas as pd

    from charter.registry import Registry

    console.print(Rule("6 · monitor"))
    tokens: dict[str, str] = demo.notes["registry"]["tokens"]
    folder = demo.out / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)

    # Serving loads the production version from the registry (hash checked, skops types as
    # recorded) and logs every application with the model's score and decision.
    with Registry.open() as registry:
        serving = registry.authenticate(tokens["mo"])  # the monitoring service account
        model = registry.load_model("credit-risk", "production", actor=serving)
        production = registry.get_version("credit-risk", "production", actor=serving).number

    # Four weeks of applications; from the drift day on, an economic shock: lower incomes for
    # part-time workers (most of them women), bigger loans, more debt.
    start, drift_day, days, per_day = date(2024, 3, 4), date(2024, 3, 18), 28, 3_000
    logs, labels = [], []
    for d in range(days):
        day = start + timedelta(days=d)
        frame = make_credit_data(per_day, seed=1_000 + d)
        frame["applicant_id"] += d * per_day
        if day >= drift_day:
            part_time = frame["part_time"] == 1
            frame.loc[part_time, "income"] = (frame.loc[part_time, "income"] * 0.6).round(0)
            frame["loan_amount"] = (frame["loan_amount"] * 1.4).round(-2)
            frame["debt_to_income"] = np.clip(frame["debt_to_income"] * 1.3, 0, 0.95)
        rng = np.random.default_rng(d)
        seconds = np.sort(rng.integers(0, 86_400, per_day))
        frame["ts"] = pd.Timestamp(day) + pd.to_timedelta(seconds, unit="s")
        frame["score"] = model.predict_proba(frame[FEATURES])[:, 1]
        frame["prediction"] = model.predict(frame[FEATURES])
        labels.append(frame[["applicant_id", TARGET]])  # repayment is known months later
        logs.append(frame.drop(columns=[TARGET]))
    log_path, labels_path = folder / "inference-log.parquet", folder / "labels.parquet"
    pd.concat(logs, ignore_index=True).to_parquet(log_path)
    pd.concat(labels, ignore_index=True).to_parquet(labels_path)

    # A webhook receiver standing in for Slack.
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(size)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{server.server_address[1]}/services/demo"

    console.print(
        f"The monitoring service account (mo) checks credit-risk:{production}, the production"
        " version, against the reference profile the registry kept at registration, under the"
        " policy registered with it (daily windows, `window_verdict: interval`,"
        " `mark_needs_review: true`):",
        highlight=False,
    )
    since = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    printed = charter_as(
        "mo",
        tokens,
        "monitor",
        "credit-risk",
        "--log",
        _rel(log_path),
        "--labels",
        _rel(labels_path),
        "--webhook",
        webhook,
        "--prometheus-textfile",
        _rel(folder / "charter.prom"),
        "--out",
        _rel(folder),
        expect=1,
    )
    elapsed = time.perf_counter() - started
    server.shutdown()
    console.print(printed.rstrip(), highlight=False, markup=False)

    evidence = Evidence.read(folder / "evidence.json")
    findings = {f.rule_id: f for f in evidence.findings}
    windows = evidence.extras["monitoring"]["windows"]
    drifted = [
        date.fromisoformat(w["start"][:10]) for w in windows if (w["drift"] or {}).get("drifted")
    ]
    fifths = findings["four-fifths.window"]
    unfair = fifths.details.get("first_failing_window", "")[:10]
    if not drifted or drifted[0] != drift_day or unfair != drift_day.isoformat():
        _abort(f"expected drift and unfairness from {drift_day}; got {drifted[:1]!s} and {unfair}")
    parity = findings["approval-parity.window"]
    if parity.details.get("first_failing_window", "")[:10] != drift_day.isoformat():
        _abort(f"expected approval parity to break on {drift_day}")
    daily = {w["start"][:10]: w.get("value") for w in parity.details["windows"]}
    before = [v for d, v in daily.items() if v is not None and d < drift_day.isoformat()]
    after = [v for d, v in daily.items() if v is not None and d >= drift_day.isoformat()]
    at_risk = [d for d in parity.details.get("at_risk_windows", []) if d < drift_day.isoformat()]
    columns = (windows[-1]["drift"] or {}).get("drifted_columns", [])
    console.print(
        f"Drift flagged from {drifted[0]} ({', '.join(columns)}). Fairness breaks the same day:"
        f" the four-fifths ratio falls to {fifths.value:.2f} (bound 0.8) and approval parity is"
        f" {min(after):.3f}-{max(after):.3f} a day from then on (bound 0.10). Before, it was"
        f" {min(before):.3f}-{max(before):.3f}: {len(at_risk)} day(s) at risk, none significantly"
        " over the bound. The webhook received:",
        highlight=False,
        markup=False,
    )
    if not received:
        _abort("the webhook received no alert")
    console.print(received[0]["text"], style="yellow", highlight=False, markup=False)
    console.print(f"monitoring ran in {elapsed:.1f} s", highlight=False)

    console.print(
        "The registry recorded the run against the version and flagged it for review:",
        highlight=False,
    )
    shown = charter_as("otto", tokens, "show", "credit-risk:production")
    console.print(shown.rstrip(), highlight=False, markup=False)
    if "needs-review" not in shown:
        _abort("the production version was not flagged needs-review")
    entries = json.loads(
        charter_as(
            "otto", tokens, "audit", "log", "--model", "credit-risk", "--since", since, "--json"
        )
    )
    for entry in entries:
        console.print(
            f"  {entry['seq']:>3} {entry['at'][11:19]} {entry['actor']:<5} "
            f"{entry['action']:<20} {entry['subject']}  {entry['details'].get('status', '')}"
            f"{entry['details'].get('flag', '')}",
            highlight=False,
        )
    if [e["action"] for e in entries] != ["monitoring.record", "version.flag"]:
        _abort(f"expected a monitoring.record and a version.flag entry, got {entries}")
    verify = json.loads(charter_as("otto", tokens, "audit", "verify", "--json"))
    console.print(
        f"[bold green]Audit trail still intact[/]: {verify['checked']} entries, "
        f"head {verify['head_hash'][:16]}…",
        highlight=False,
    )
    compliance = demo.out / "compliance.html"
    out = charter_as(
        "otto", tokens, "compliance", "credit-risk:production", "--out", str(compliance)
    )
    console.print(out.strip(), highlight=False)
    console.print(
        "The controls that rest on monitoring evidence (post-market monitoring, accuracy and"
        " robustness over time) now cite this run, and show it failed.",
        highlight=False,
    )
    demo.reports["monitoring"] = folder / "report.html"
    demo.notes["monitoring"] = json.loads((folder / "record.json").read_text(encoding="utf-8"))


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


#: The chapters, in order.
CHAPTERS: list[Callable[[Demo], None]] = [
    chapter_data,
    chapter_train,
    chapter_gate,
    chapter_mitigate,
    chapter_registry,
    chapter_monitor,
    chapter_serving,
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
    _dashboard_hint(demo)
    return 0


def _dashboard_hint(demo: Demo) -> None:
    """How to open the dashboard on the demo's registry, and the tokens to log in with."""
    registry = demo.notes.get("registry")
    if not registry:
        return
    from registry_chapter import USERS

    console.print(Rule("the dashboard"))
    console.print(
        "Serve the demo's registry and open http://127.0.0.1:8000 in a browser:\n"
        "  make serve\n"
        f"  [dim](the same as: CHARTER_HOME={_rel(registry['home'])} charter serve)[/]\n"
        "Log in with one of these tokens (ann or arno approve; otto audits; ada administers):",
        highlight=False,
    )
    for user, roles in USERS.items():
        token = registry["tokens"].get(user, "")
        console.print(
            f"  {user:<5} {', '.join(roles):<22} {token}", highlight=False, soft_wrap=True
        )


if __name__ == "__main__":
    sys.exit(main())
