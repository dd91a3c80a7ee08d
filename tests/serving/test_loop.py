"""The closed loop: served rows and labels posted through the API, monitored as they lie."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest
from api_support import running
from serving_support import Served, inputs_of, records, tabular

from charter.monitor.run import monitor
from charter.stats.profile import DataProfile

#: Monitoring rules warn: a blocking one would also gate promotion (the registry reads every
#: blocking rule of the policy as a gate rule).
MONITORING = {
    "window": "1d",
    "timestamp_column": "ts",
    "rules": [
        {
            "id": "accuracy",
            "check": "window_performance",
            "params": {"metric": "accuracy"},
            "min": 0.5,
            "severity": "warn",
        },
        {
            "id": "recall",
            "check": "window_performance",
            "params": {"metric": "recall"},
            "min": 0.1,
            "severity": "warn",
        },
        {
            "id": "parity",
            "check": "window_fairness",
            "params": {"metric": "demographic_parity_difference", "sensitive": ["sex"]},
            "max": 0.9,
            "severity": "warn",
        },
        {"id": "drift", "check": "column_drift", "severity": "warn"},
    ],
}


def test_monitor_reads_the_served_log_with_labels_posted_through_the_api(
    served: Served, tmp_path: Path
) -> None:
    train = tabular(seed=11, categorical=False)
    names = inputs_of(train)
    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1).fit(train[names], train["label"])
    served.publish(model, train, monitoring=MONITORING, sensitive=["sex"])
    traffic = tabular(n=300, seed=12, categorical=False)
    labelled = traffic.index % 3 != 0
    with running(served, tmp_path / "home") as api:
        ids = []
        for start in range(0, len(traffic), 25):
            chunk = traffic.iloc[start : start + 25][[*names, "sex"]]
            body = api.post(
                "/api/v1/models/scorer/predict",
                "ivy",
                json={"dataframe_records": records(chunk)},
            ).json()
            ids.extend((body["request_id"], row) for row in range(len(chunk)))
        labels = [
            {"request_id": rid, "row": row, "label": int(traffic["label"].iloc[i])}
            for i, (rid, row) in enumerate(ids)
            if labelled[i]
        ]
        posted = api.post("/api/v1/models/scorer/labels", "lars", json=labels)
        assert posted.status_code == 201 and posted.json()["stored"] == labelled.sum()
    log = tmp_path / "home" / "log" / "scorer"
    policy = served.registry.policy("scorer", 1, actor=served["otto"])
    reference = DataProfile.from_dict(
        served.registry.reference_profile("scorer", 1, actor=served["otto"]) or {}
    )
    from_log = monitor("scorer", str(log), policy=policy, reference=reference, version="1")

    # the same rows written by hand: inputs, the model's outputs, labels where posted
    stamps = ds.dataset(str(log), format="parquet").to_table(columns=["ts"])["ts"].to_pylist()
    by_hand = traffic[[*names, "sex"]].copy()
    by_hand["ts"] = pd.Timestamp(min(stamps))
    by_hand["prediction"] = model.predict(traffic[names])
    by_hand["score"] = model.predict_proba(traffic[names])[:, 1]
    by_hand["label"] = np.where(labelled, traffic["label"], np.nan)
    by_hand["label"] = by_hand["label"].astype("Int64")
    from_frame = monitor("scorer", by_hand, policy=policy, reference=reference, version="1")

    ours = {f.rule_id: f for f in from_log.evidence.findings}
    theirs = {f.rule_id: f for f in from_frame.evidence.findings}
    assert set(ours) == set(theirs) >= {"accuracy", "recall", "parity", "drift"}
    for rule, finding in ours.items():
        assert finding.verdict == theirs[rule].verdict, rule
        if finding.value is not None:
            assert finding.value == pytest.approx(theirs[rule].value, abs=1e-12), rule
    window = from_log.evidence.extras["monitoring"]["windows"][0]
    assert window["rows"] == 300 and window["labelled_rows"] == labelled.sum()

    # and the command line reads the same folder with no conversion
    out = tmp_path / "monitoring"
    done = subprocess.run(
        [
            *(str(Path(sys.executable).parent / "charter"), "monitor", "scorer"),
            *("--log", str(log), "--version", "1", "--no-actions", "--out", str(out)),
        ],
        env=served.env("mo"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    evidence = json.loads((out / "evidence.json").read_text())
    cli = {f["rule_id"]: f["value"] for f in evidence["findings"]}
    for rule, finding in ours.items():
        if finding.value is not None:
            assert cli[rule] == pytest.approx(finding.value, abs=1e-12), rule


def test_hot_swap_while_a_client_sends_requests(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_SERVE_REFRESH", "0.2")
    train = tabular(seed=21, categorical=False)
    names = inputs_of(train)
    first = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(train[names], train["label"])
    served.publish(first, train)
    payload = {"dataframe_records": records(train[names].head(2))}
    answers: list[tuple[int, int | None]] = []
    stop = threading.Event()
    with running(served, tmp_path / "home") as api:

        def client() -> None:
            while not stop.is_set():
                got = api.post("/api/v1/models/scorer/predict", "ivy", json=payload)
                version = got.json()["model"]["version"] if got.status_code == 200 else None
                answers.append((got.status_code, version))

        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(0.5)
        second = lgb.LGBMClassifier(n_estimators=25, verbose=-1).fit(train[names], train["label"])
        served.publish(second, train)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not answers or answers[-1][1] != 2):
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        thread.join()
        api.serving.log.flush()
    assert {code for code, _ in answers} == {200}
    versions = [v for _, v in answers]
    switch = versions.index(2)
    assert switch > 0 and set(versions[:switch]) == {1} and set(versions[switch:]) == {2}
    table = ds.dataset(str(tmp_path / "home" / "log" / "scorer"), format="parquet").to_table()
    logged = table.sort_by("ts").to_pandas()
    assert len(logged) == 2 * len(answers)
    assert sorted(set(logged["version"])) == [1, 2]
    last_v1 = logged.loc[logged["version"] == 1, "ts"].max()
    first_v2 = logged.loc[logged["version"] == 2, "ts"].min()
    assert last_v1 <= first_v2
    assert (logged.groupby("version")["sha256"].nunique() == 1).all()
    assert datetime.now(UTC) >= first_v2


def test_the_server_monitors_its_log_on_the_policy_schedule(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHARTER_MONITOR_TOKEN", served.tokens["mo"])
    train = tabular(seed=41, categorical=False)
    names = inputs_of(train)
    model = lgb.LGBMClassifier(n_estimators=10, verbose=-1).fit(train[names], train["label"])
    every_two_seconds = {**MONITORING, "schedule": "* * * * * */2"}
    served.publish(model, train, monitoring=every_two_seconds, sensitive=["sex"])
    with running(served, tmp_path / "home") as api:
        watching = api.serving.watching
        assert watching is not None and watching.record
        deadline = time.monotonic() + 20
        i = 0
        while not watching.runs and time.monotonic() < deadline:
            chunk = train[[*names, "sex"]].iloc[i : i + 5]
            api.post(
                "/api/v1/models/scorer/predict", "ivy", json={"dataframe_records": records(chunk)}
            )
            i += 5
            time.sleep(0.2)
        assert watching.runs, "no scheduled run within 20 s"
        name, number, passed = watching.runs[0]
        assert (name, number) == ("scorer", 1)
        text = api.get("/metrics").text
        assert f'charter_monitoring_verdict{{model="scorer",version="1"}} {float(passed)}' in text
    recorded = served.registry.monitoring_evidence("scorer", 1, actor=served["otto"])
    assert len(recorded) >= 1
    reports = list((tmp_path / "home" / "monitoring" / "scorer" / "1").glob("*/evidence.json"))
    assert reports
