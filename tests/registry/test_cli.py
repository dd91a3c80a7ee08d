"""The registry's commands end to end, as the people of the team would run them."""

from __future__ import annotations

import json
from pathlib import Path

from registry_support import MODEL_NAME, Team, make_candidate


def test_register_refuse_request_approve_promote_and_audit(team: Team, tmp_path: Path, cli) -> None:
    failing = make_candidate(tmp_path / "v1", passed=False, seed=1)
    passing = make_candidate(tmp_path / "v2", passed=True, seed=2)
    for candidate in (failing, passing):
        code, out, err = cli(
            "eli",
            "register",
            MODEL_NAME,
            "--model",
            str(candidate.model),
            "--evidence",
            str(candidate.evidence),
            "--train-data",
            str(candidate.train),
            "--param",
            "n_estimators=200",
        )
        assert code == 0, err
    assert "registered credit-risk:2" in out

    code, _, err = cli("eli", "promote", f"{MODEL_NAME}:1", "--to", "production")
    assert code == 1 and "refused" in err and "few-nulls" in err

    code, out, _ = cli(
        "eli", "promote", f"{MODEL_NAME}:2", "--to", "production", "--note", "mitigated"
    )
    assert code == 0 and "waits for 2 more approval(s)" in out
    code, out, _ = cli("ann", "requests", "--json")
    (waiting,) = json.loads(out)
    assert (waiting["version"], waiting["note"]) == (2, "mitigated")
    assert cli("ann", "approve", str(waiting["id"]), "--comment", "evidence reviewed")[0] == 0
    code, out, _ = cli("arno", "approve", str(waiting["id"]))
    assert code == 0 and "promoted credit-risk:2 to production" in out

    code, out, _ = cli("otto", "show", f"{MODEL_NAME}:production", "--json")
    shown = json.loads(out)
    assert shown["number"] == 2 and shown["params"] == {"n_estimators": 200}
    assert [h["to_stage"] for h in shown["history"]] == ["production"]
    assert cli("eli", "alias", "set", MODEL_NAME, "champion", "2")[0] == 0
    code, out, _ = cli("otto", "versions", MODEL_NAME)
    assert code == 0 and "version" in out  # a table, as wide as the terminal allows
    code, out, _ = cli("otto", "versions", MODEL_NAME, "--json")
    assert [(v["number"], v["stage"], v["aliases"]) for v in json.loads(out)] == [
        (1, None, []),
        (2, "production", ["champion"]),
    ]
    code, out, _ = cli("otto", "models", "--json")
    assert json.loads(out)[0]["production"] == 2

    code, out, _ = cli("otto", "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = cli("otto", "audit", "log", "--model", MODEL_NAME, "--json")
    actions = [e["action"] for e in json.loads(out)]
    assert actions == [
        "model.create",
        "version.register",
        "version.register",
        "promotion.refused",
        "promotion.requested",
        "promotion.approved",
        "promotion.approved",
        "promotion.completed",
        "alias.set",
    ]
    export = tmp_path / "audit.jsonl"
    code, out, _ = cli(
        "otto",
        "audit",
        "export",
        "--format",
        "jsonl",
        "--out",
        str(export),
        "--action",
        "promotion.*",
    )
    assert code == 0
    assert len(export.read_text().splitlines()) == 5

    code, _, _ = cli("eli", "archive", f"{MODEL_NAME}:1", "--reason", "superseded")
    assert code == 0
    code, _, _ = cli("mo", "flag", f"{MODEL_NAME}:2", "needs-review", "--reason", "drift")
    assert code == 0
    code, out, _ = cli("ann", "show", f"{MODEL_NAME}:champion")
    assert "needs-review" in out
