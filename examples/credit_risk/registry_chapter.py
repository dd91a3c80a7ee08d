"""Chapter 5 of the demo, the registry: both models registered, the failing one refused, the
passing one approved by two approvers and promoted, the audit trail verified, the model card
and compliance report written.

Every step runs the real ``charter`` command in this process (:func:`charter_as`), as the user
of the token it shows; the registry lives in ``<out>/registry`` (``CHARTER_HOME``). The
monitoring chapter goes on with the same registry and users.
"""

from __future__ import annotations

import json
import os
import shlex
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from charter.cli.app import main as charter

console = Console()
USERS = {
    "ada": ["admin"],
    "eli": ["ml_engineer"],
    "eve": ["ml_engineer", "approver"],
    "ann": ["approver"],
    "arno": ["approver"],
    "otto": ["auditor"],
    "mo": ["monitor"],
}


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def charter_as(user: str, tokens: dict[str, str], *args: str, expect: int = 0) -> str:
    """Run ``charter ARGS`` as ``user``; show the command; return what it printed."""
    os.environ["CHARTER_TOKEN"] = tokens.get(user, "")
    shown = " ".join(shlex.quote(a) for a in args)
    console.print(f"[dim]{user}$ charter {shown}[/]", highlight=False)
    buffer = StringIO()
    with redirect_stdout(buffer):
        code = charter(list(args))
    out = buffer.getvalue()
    if code != expect:
        console.print(out)
        raise SystemExit(f"demo failed: `charter {shown}` exited {code}, expected {expect}")
    if "--json" in args:  # show what the command printed, so the transcript stays true
        console.print(_json_excerpt(out), highlight=False, markup=False)
    return out


def _json_excerpt(text: str, width: int = 78, lines: int = 3) -> str:
    """The JSON a command printed, compacted to a few lines (the demo reads all of it)."""
    compact = json.dumps(json.loads(text), separators=(",", ":"), default=str)
    chunks = [compact[i : i + width] for i in range(0, len(compact), width)]
    more = f" … ({len(compact):,} characters in all)" if len(chunks) > lines else ""
    return "\n".join(chunks[:lines]) + more


def chapter_registry(demo: Any) -> None:
    """5. Register both models; the gate's evidence decides; approvers sign; the trail holds."""
    console.print(Rule("5 · registry"))
    home = demo.out / "registry"
    if home.exists():
        import shutil

        shutil.rmtree(home)
    os.environ["CHARTER_HOME"] = str(home)
    os.environ.pop("CHARTER_DATABASE_URL", None)
    os.environ.pop("CHARTER_ARTIFACT_STORE", None)
    tokens: dict[str, str] = {}

    tokens["ada"] = charter_as("ada", tokens, "init", "--admin", "ada").strip()
    for user, roles in USERS.items():
        if user != "ada":
            role_args = [a for r in roles for a in ("--role", r)]
            tokens[user] = charter_as("ada", tokens, "user", "add", user, *role_args).strip()
    console.print(
        f"a registry in {_rel(home)} with an admin (ada), an ML engineer (eli), a lead who both"
        " engineers and approves (eve), two approvers (ann, arno), an auditor (otto) and the"
        " monitoring service account (mo); tokens are stored hashed.",
        highlight=False,
    )

    assert demo.model and demo.mitigated and demo.train
    for model, gate in ((demo.model, "gate-original"), (demo.mitigated, "gate-mitigated")):
        out = charter_as(
            "eli",
            tokens,
            "register",
            "credit-risk",
            "--model",
            _rel(model),
            "--evidence",
            _rel(demo.out / gate),
            "--train-data",
            _rel(demo.train),
        )
        console.print(out.strip(), highlight=False)

    console.print(
        "Each version keeps its lineage and, from the training data, the reference profile"
        " monitoring compares production with: the training columns and the model's outputs"
        " on them (score and prediction):",
        highlight=False,
    )
    console.print(charter_as("eli", tokens, "show", "credit-risk:2").rstrip(), highlight=False)
    console.print(
        "The original model's evidence fails the fairness rules, so the registry refuses"
        " to promote it (exit code 1):",
        highlight=False,
    )
    charter_as("eli", tokens, "promote", "credit-risk:1", "--to", "production", expect=1)

    assert demo.holdout is not None
    console.print(
        "The model is high-risk, so production needs verified evidence: the registry re-runs"
        " the gate itself on the holdout data (its sha256 must be the evidence's) and finds the"
        " same findings (a CI would instead sign with `charter check --sign KEY`):",
        highlight=False,
    )
    out = charter_as(
        "eve", tokens, "evidence", "verify", "credit-risk:2", "--data", _rel(demo.holdout)
    )
    console.print(out.strip(), highlight=False)

    note = "reweighed; passes the gate"
    out = charter_as(
        "eve", tokens, "promote", "credit-risk:2", "--to", "production", "--note", note
    )
    console.print(out.strip(), highlight=False)
    requests = json.loads(charter_as("ann", tokens, "requests", "--json"))
    request = str(requests[0]["id"])
    console.print(
        "eve holds the approver role but requested this promotion, so she may not approve it"
        " (separation of duties); the auditor may not approve at all:",
        highlight=False,
    )
    charter_as("eve", tokens, "approve", request, expect=2)
    charter_as("otto", tokens, "approve", request, expect=2)
    for approver in ("ann", "arno"):
        out = charter_as(
            approver, tokens, "approve", request, "--comment", "evidence and card reviewed"
        )
        console.print(out.strip(), highlight=False)

    verify = json.loads(charter_as("otto", tokens, "audit", "verify", "--json"))
    console.print(
        f"[bold green]Audit trail intact[/]: {verify['checked']} hash-chained entries, "
        f"head {verify['head_hash'][:16]}…",
        highlight=False,
    )
    entries = json.loads(charter_as("otto", tokens, "audit", "log", "--json"))
    for entry in entries[2 * len(USERS) + 1 :]:
        console.print(
            f"  {entry['seq']:>3} {entry['at'][11:19]} {entry['actor']:<5} "
            f"{entry['action']:<20} {entry['subject']}",
            highlight=False,
        )

    card = demo.out / "model-card.html"
    charter_as(
        "otto", tokens, "card", "credit-risk:production", "--format", "html", "--out", str(card)
    )
    charter_as(
        "otto",
        tokens,
        "card",
        "credit-risk:production",
        "--format",
        "md",
        "--out",
        str(demo.out / "model-card.md"),
    )
    compliance = demo.out / "compliance.html"
    charter_as("otto", tokens, "compliance", "credit-risk:production", "--out", str(compliance))
    console.print(
        f"model card: [bold]{_rel(card)}[/]; compliance report: [bold]{_rel(compliance)}[/]",
        highlight=False,
    )
    demo.notes["registry"] = {"home": home, "tokens": tokens}
