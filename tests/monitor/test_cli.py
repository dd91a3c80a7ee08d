"""``charter monitor`` as a user runs it: files, the registry, a schedule, exit codes."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from charter.cli.app import main
from tests.e2e.cli import run_charter

from .conftest import POLICY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
import registry_support as rs


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch, log, reference_frame) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHARTER_HOME", raising=False)
    monkeypatch.delenv("CHARTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "no-registry"))
    reference_frame.to_parquet(tmp_path / "reference.parquet")
    log.to_parquet(tmp_path / "log.parquet")
    policy = {
        **POLICY,
        "monitoring": {**POLICY["monitoring"], "prometheus_textfile": "prom/c.prom"},
    }
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    return tmp_path


def _args(*extra: str) -> list[str]:
    return [
        "monitor",
        "credit-risk",
        "--log",
        "log.parquet",
        "--reference",
        "reference.parquet",
        "--policy",
        "policy.yaml",
        *extra,
    ]


def test_a_drifting_log_exits_1_and_leaves_evidence_report_and_gauges(workdir: Path) -> None:
    assert main(_args()) == 1
    evidence = json.loads((workdir / "charter-monitoring" / "evidence.json").read_text())
    assert evidence["status"] == "failed" and evidence["stage"] == "monitoring"
    report = (workdir / "charter-monitoring" / "report.html").read_text()
    assert report.count("<svg") >= 4
    record = json.loads((workdir / "charter-monitoring" / "record.json").read_text())
    assert [w["start"][:10] for w in record["windows"]][-1] == "2024-03-06"
    assert "charter_monitor_passed" in (workdir / "prom" / "c.prom").read_text()


def test_a_quiet_period_exits_0(workdir: Path) -> None:
    assert main(_args("--until", "2024-03-04", "--window", "12h", "--out", "quiet")) == 0
    record = json.loads((workdir / "quiet" / "record.json").read_text())
    assert len(record["windows"]) == 6 and record["status"] == "passed"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "3x"], "'3x' is not a window size"),
        (["--timestamp", "when"], "timestamp column 'when' is not in the log"),
        (["--since", "last tuesday"], "'last tuesday' is not a time"),
        (["--schedule", "every day"], "'every day' is not a cron expression"),
    ],
)
def test_bad_input_exits_2_with_a_hint(workdir: Path, capsys, extra, message) -> None:
    assert main(_args(*extra)) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err


def test_a_missing_log_exits_2_from_the_console_script(workdir: Path) -> None:
    done = run_charter(
        *_args()[:2],
        "--log",
        "nowhere.parquet",
        "--reference",
        "reference.parquet",
        "--policy",
        "policy.yaml",
        cwd=workdir,
    )
    assert done.returncode == 2, done.stderr
    assert "log nowhere.parquet does not exist" in done.stderr and "Traceback" not in done.stderr


def test_a_reference_of_another_schema_exits_2(workdir: Path, capsys) -> None:
    pd.DataFrame({"temperature": np.arange(10.0)}).to_parquet(workdir / "other.parquet")
    args = _args()
    args[args.index("reference.parquet")] = "other.parquet"
    assert main(args) == 2
    assert "none of the reference's columns is in the log" in capsys.readouterr().err


def test_a_schedule_runs_until_stopped(workdir: Path, capsys) -> None:
    code = main(_args("--schedule", "* * * * * */1", "--max-runs", "2", "--since", "2024-03-01"))
    assert code == 0
    out = capsys.readouterr().out
    assert "stopped after 2 run(s)" in out and out.count("next run at") == 2
    assert (workdir / "charter-monitoring" / "evidence.json").exists()


def test_with_the_registry_the_reference_comes_from_it_and_results_are_stored(
    tmp_path: Path, monkeypatch
) -> None:
    from charter.registry import Registry, Role

    url = f"sqlite:///{tmp_path / 'registry.db'}"
    store = tmp_path / "artifacts"
    registry, admin = Registry.initialize(url, admin="ada", artifact_store=str(store))
    ada = registry.authenticate(admin.token)
    eli_token = registry.add_user("eli", [Role.ML_ENGINEER], actor=ada)
    mo_token = registry.add_user("mo", [Role.MONITOR], actor=ada)
    candidate = rs.make_candidate(tmp_path / "candidate")
    registry.register(
        rs.MODEL_NAME,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        train_data=candidate.train,
        actor=registry.authenticate(eli_token.token),
        source_dir=candidate.model.parent,
    )
    rng = np.random.default_rng(5)
    parts = []
    for day in range(1, 5):
        frame = rs.training_frame(n=600, seed=10 + day)
        if day >= 3:
            frame["debt"] = frame["debt"] * 1.8
        frame["ts"] = pd.Timestamp(f"2024-03-0{day}") + pd.to_timedelta(
            rng.integers(0, 86400, len(frame)), unit="s"
        )
        parts.append(frame)
    pd.concat(parts).to_parquet(tmp_path / "log.parquet")
    policy = yaml.safe_load(candidate.policy.read_text())
    policy["monitoring"] = {
        "mark_needs_review": True,
        "timestamp_column": "ts",
        "drift_share": 0.3,
    }
    (tmp_path / "monitoring.yaml").write_text(yaml.safe_dump(policy))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHARTER_DATABASE_URL", url)
    monkeypatch.setenv("CHARTER_ARTIFACT_STORE", str(store))
    monkeypatch.setenv("CHARTER_TOKEN", mo_token.token)
    code = main(["monitor", rs.MODEL_NAME, "--log", "log.parquet", "--policy", "monitoring.yaml"])
    assert code == 1
    [stored] = registry.monitoring_evidence(rs.MODEL_NAME, 1, actor=ada)
    assert stored.status == "failed" and stored.extras["model_version"] == "1"
    version = registry.get_version(rs.MODEL_NAME, 1, actor=ada)
    assert [f.flag for f in version.flags] == ["needs-review"]
    actions = [e.action for e in registry.audit_log(actor=ada, model=rs.MODEL_NAME)]
    assert "monitoring.record" in actions and "version.flag" in actions
    # the next failing run is recorded too, but the version is not flagged twice
    assert main(["monitor", rs.MODEL_NAME, "--log", "log.parquet", "--policy", "monitoring.yaml"])
    assert len(registry.monitoring_evidence(rs.MODEL_NAME, 1, actor=ada)) == 2
    assert [f.flag for f in registry.get_version(rs.MODEL_NAME, 1, actor=ada).flags] == [
        "needs-review"
    ]
    actions = [e.action for e in registry.audit_log(actor=ada, model=rs.MODEL_NAME)]
    assert actions.count("monitoring.record") == 2 and actions.count("version.flag") == 1
    registry.close()


def test_a_webhook_secret_comes_from_the_environment_and_stays_out_of_evidence(
    workdir: Path, monkeypatch, capsys
) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    paths: list[str] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            paths.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        policy = yaml.safe_load((workdir / "policy.yaml").read_text())
        policy["monitoring"]["webhook"] = "${SLACK_WEBHOOK}"
        (workdir / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
        monkeypatch.delenv("SLACK_WEBHOOK", raising=False)
        assert main(_args("--out", "unset")) == 1  # the verdict, not a crash
        captured = capsys.readouterr()
        err, out = " ".join(captured.err.split()), " ".join(captured.out.split())
        assert "monitoring.webhook refers to ${SLACK_WEBHOOK}, which is not set" in err
        assert "webhook: failed monitoring.webhook: environment variable SLACK_WEBHOOK" in out
        secret_path = "/services/T9/B9/xoxb-secret"
        monkeypatch.setenv(
            "SLACK_WEBHOOK", f"http://127.0.0.1:{server.server_address[1]}{secret_path}"
        )
        assert main(_args("--out", "set")) == 1
        assert paths == [secret_path]
        for name in ("evidence.json", "record.json", "report.html"):
            assert "xoxb-secret" not in (workdir / "set" / name).read_text()
        assert "xoxb-secret" not in capsys.readouterr().out
    finally:
        server.shutdown()
