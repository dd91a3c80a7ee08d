"""A real `charter serve` process: SIGTERM under load loses no log record."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import lightgbm as lgb
import pyarrow.dataset as ds
from process_support import ServerProcess
from serving_support import Served, inputs_of, records, tabular


def test_sigterm_under_load_loses_no_record(served: Served, tmp_path: Path) -> None:
    train = tabular(seed=31, categorical=False)
    names = inputs_of(train)
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(train[names], train["label"])
    served.publish(model, train)
    log = tmp_path / "log"
    server = ServerProcess(served.env("ivy"), tmp_path / "home", log)
    headers = {"Authorization": f"Bearer {served.tokens['ivy']}"}
    warm = httpx.post(
        f"{server.url}/api/v1/models/scorer/predict",
        json={"dataframe_records": records(train[names].head(1))},
        headers=headers,
        timeout=120,
    )
    assert warm.status_code == 200, warm.text
    acknowledged: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(seed: int) -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            i = 0
            while not stop.is_set():
                rows = 1 + (seed + i) % 4
                chunk = train[names].iloc[i % 500 : i % 500 + rows]
                i += 1
                try:
                    answer = http.post(
                        "/api/v1/models/scorer/predict",
                        json={"dataframe_records": records(chunk)},
                    )
                except httpx.HTTPError:
                    return  # the server has stopped listening
                if answer.status_code == 200:
                    with lock:
                        acknowledged[answer.json()["request_id"]] = rows
                elif answer.status_code != 503:
                    raise AssertionError(answer.text)

    clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for thread in clients:
        thread.start()
    deadline = time.monotonic() + 30  # a busy machine answers slowly: wait for some load
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.1)
    code = server.terminate()
    stop.set()
    for thread in clients:
        thread.join(30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM
    assert code in (0, -signal.SIGTERM), server.output.read_text()
    table = ds.dataset(str(log / "scorer"), format="parquet").to_table(
        columns=["request_id", "row"]
    )
    logged: dict[str, int] = {}
    for request_id in table["request_id"].to_pylist():
        logged[request_id] = logged.get(request_id, 0) + 1
    assert len(acknowledged) > 50
    assert {k: logged.get(k) for k in acknowledged} == acknowledged  # every answered row
    assert sum(logged.values()) >= sum(acknowledged.values()) + 1  # and the warm-up
    assert not list(log.rglob(".*.partial"))
