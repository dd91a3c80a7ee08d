"""Chapter 7 of the demo, serving: the production version answers, explains, logs and is watched.

``charter serve`` runs on the demo registry on a free loopback port. A shop's service account
(role ``invoker``) sends a few hundred loan applications; each answer carries the version that
gave it, the score and its explanation. The credit bureau's account (role ``labeler``) posts
the repayment outcomes of part of them. ``charter monitor`` reads the served log as it lies,
with those labels joined by request id and row. An approver presses the stop button, the
server answers 503 with the reason, another approver resumes; the server stops cleanly and
every answered row is in the log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule

from charter.cli.app import main as charter

console = Console()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _charter(user: str, tokens: dict[str, str], *args: str) -> tuple[int, str]:
    os.environ["CHARTER_TOKEN"] = tokens.get(user, "")
    console.print(f"[dim]{user}$ charter {' '.join(args)}[/]", highlight=False)
    buffer = StringIO()
    with redirect_stdout(buffer):
        code = charter(list(args))
    return code, buffer.getvalue()


def _records(frame: Any) -> list[dict[str, Any]]:
    out = frame.copy()
    out["region"] = out["region"].astype(str)
    return list(out.to_dict(orient="records"))


def chapter_serving(demo: Any) -> None:
    """7. Serve the production version: explained predictions, labels, monitoring, stop button."""
    import httpx
    import pyarrow.dataset as ds
    from dataset import TARGET, make_credit_data

    console.print(Rule("7 · serving"))
    tokens: dict[str, str] = demo.notes["registry"]["tokens"]
    for user, role in (("shop", "invoker"), ("bureau", "labeler")):
        code, out = _charter("ada", tokens, "user", "add", user, "--role", role)
        if code:
            raise SystemExit(f"demo failed: could not add {user}: {out}")
        tokens[user] = out.strip()
    folder = demo.out / "serving"
    if folder.exists():
        shutil.rmtree(folder)  # a fresh log for this run
    log = folder / "log"
    port = _free_port()
    env = dict(os.environ)
    env.update(CHARTER_INFERENCE_LOG=str(log), CHARTER_SECRET_KEY="demo-" + "k" * 40)
    env.pop("CHARTER_TOKEN", None)
    folder.mkdir(parents=True, exist_ok=True)
    server_out = open(folder / "server.log", "w")  # noqa: SIM115
    command = [str(Path(sys.executable).parent / "charter"), "serve", "--port", str(port)]
    console.print(f"[dim]$ charter {' '.join(command[1:])}  (CHARTER_INFERENCE_LOG={log})[/]")
    server = subprocess.Popen(
        [*command, "--log-level", "warning"], env=env, stdout=server_out, stderr=server_out
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, server)
        answered, request_id = _traffic(url, tokens, make_credit_data, TARGET, httpx)
        demo.notes["serving"] = {"request_id": request_id, "url": url}
        _monitor(tokens, log, demo)
        answered += _stop_button(url, tokens, httpx)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)  # uvicorn re-raises the SIGTERM it handled: the code is -15
        server_out.close()
    logged = ds.dataset(str(log / "credit-risk"), format="parquet").count_rows()
    console.print(
        f"The server stopped cleanly on SIGTERM and wrote its buffer first: {answered} rows"
        f" answered, {logged} records in the log.",
        highlight=False,
    )
    if logged != answered:
        raise SystemExit(f"demo failed: {answered} rows answered but {logged} logged")
    one = demo.notes["serving"]["request_id"]
    console.print(
        f"Look up request [bold]{one}[/] — inputs, score, explanation, version, label — with"
        f" the server running (`charter serve`; any role but invoker, labeler and monitor):\n"
        f"  curl -H 'Authorization: Bearer <token>' {url}/api/v1/inferences/{one}\n"
        f"  or open the dashboard's inference explorer at {url}/inferences?request_id={one}",
        highlight=False,
    )


def _wait(url: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("demo failed: charter serve exited; see serving/server.log")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("demo failed: charter serve did not start")


def _traffic(
    url: str, tokens: dict[str, str], make_credit_data: Any, target: str, httpx: Any
) -> tuple[int, str]:
    """300 applications: 200 one by one, 100 in batches of 25; labels for two in three."""
    applications = make_credit_data(300, seed=2_026)
    outcomes = applications[target].to_numpy()
    sent = applications.drop(columns=[target])
    shop = {"Authorization": f"Bearer {tokens['shop']}"}
    predict = f"{url}/api/v1/models/credit-risk/predict"
    rows: list[tuple[str, int]] = []
    started = time.perf_counter()
    with httpx.Client(headers=shop, timeout=30) as http:
        first: dict[str, Any] = {}
        for i in range(200):
            answer = http.post(
                predict + "?top=3", json={"dataframe_records": _records(sent.iloc[i : i + 1])}
            )
            answer.raise_for_status()
            body = answer.json()
            first = first or body
            rows.append((body["request_id"], 0))
        for start in range(200, 300, 25):
            chunk = sent.iloc[start : start + 25]
            answer = http.post(predict, json={"dataframe_records": _records(chunk)})
            answer.raise_for_status()
            rows.extend((answer.json()["request_id"], r) for r in range(len(chunk)))
    elapsed = time.perf_counter() - started
    explanation = first["explanations"][0]
    parts = ", ".join(f"{k} {v:+.2f}" for k, v in explanation["contributions"].items())
    console.print(
        f"The shop's service account sent 300 applications in {elapsed:.1f} s. The first answer:"
        f" request {first['request_id']}, version {first['model']['version']} (sha256"
        f" {first['model']['sha256'][:12]}…), score {first['scores'][0]:.3f}, decision"
        f" {first['predictions'][0]}; explained in {explanation['output_space']} from a base of"
        f" {explanation['base_value']:+.2f}: {parts} (the three largest; `?top=3`).",
        highlight=False,
    )
    labels = [
        {"request_id": rid, "row": row, "label": int(outcomes[i])}
        for i, (rid, row) in enumerate(rows)
        if i % 3 != 2
    ]
    bureau = {"Authorization": f"Bearer {tokens['bureau']}"}
    stored = httpx.post(
        f"{url}/api/v1/models/credit-risk/labels", json=labels, headers=bureau, timeout=30
    )
    stored.raise_for_status()
    console.print(
        f"The credit bureau's account (role labeler) posted {stored.json()['stored']} repayment"
        " outcomes, by request id and row; they are kept beside the log.",
        highlight=False,
    )
    return len(rows), str(first["request_id"])


def _monitor(tokens: dict[str, str], log: Path, demo: Any) -> None:
    out = demo.out / "serving" / "monitoring"
    code, printed = _charter(
        "mo",
        tokens,
        "monitor",
        "credit-risk",
        "--log",
        str(log / "credit-risk"),
        "--no-actions",
        "--out",
        str(out),
    )
    console.print(printed.rstrip(), highlight=False, markup=False)
    if code not in (0, 1):
        raise SystemExit(f"demo failed: charter monitor on the served log exited {code}")
    console.print(
        "`charter monitor` read the served log as it lies (no conversion) and joined the posted"
        f" labels by request id and row; report: {out / 'report.html'}",
        highlight=False,
    )


def _stop_button(url: str, tokens: dict[str, str], httpx: Any) -> int:
    """Suspend, see the 503, resume, see the answer again; returns the rows answered."""
    code, out = _charter(
        "ann",
        tokens,
        "suspend",
        "credit-risk",
        "--reason",
        "complaints of unexplained refusals under review",
    )
    console.print(out.rstrip(), highlight=False, markup=False)
    if code:
        raise SystemExit("demo failed: the suspension was refused")
    shop = {"Authorization": f"Bearer {tokens['shop']}"}
    predict = f"{url}/api/v1/models/credit-risk/predict"
    body = {"dataframe_records": [_example()]}
    answered = 0
    deadline = time.monotonic() + 5
    answer = httpx.post(predict, json=body, headers=shop)
    while answer.status_code != 503 and time.monotonic() < deadline:
        answered += answer.status_code == 200  # the server looks every second: it may answer
        time.sleep(0.2)
        answer = httpx.post(predict, json=body, headers=shop)
    if answer.status_code != 503:
        raise SystemExit(f"demo failed: a suspended model answered {answer.status_code}")
    console.print(
        f"While suspended the model answers {answer.status_code}: {answer.json()['detail']}",
        highlight=False,
    )
    code, out = _charter(
        "arno", tokens, "resume", "credit-risk", "--reason", "review closed, no defect found"
    )
    console.print(out.rstrip(), highlight=False, markup=False)
    deadline = time.monotonic() + 5
    answer = httpx.post(predict, json=body, headers=shop)
    while answer.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = httpx.post(predict, json=body, headers=shop)
    if answer.status_code != 200:
        raise SystemExit("demo failed: the resumed model does not answer")
    answered += 1
    console.print(
        "Serving resumed; no version changed stage, and both steps are in the audit trail"
        " (serving.suspend, serving.resume).",
        highlight=False,
    )
    return answered


def _example() -> dict[str, Any]:
    from dataset import make_credit_data

    frame = make_credit_data(1, seed=99).drop(columns=["repaid"])
    return _records(frame)[0]
