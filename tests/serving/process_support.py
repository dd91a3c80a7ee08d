"""A real ``charter serve`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``charter serve`` in a subprocess; :meth:`terminate` sends SIGTERM and waits."""

    def __init__(self, env: dict[str, str], home: Path, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(env)
        environment.update(
            CHARTER_HOME=str(home),
            CHARTER_INFERENCE_LOG=str(log),
            CHARTER_SECRET_KEY="k" * 48,
        )
        charter = str(Path(sys.executable).parent / "charter")
        self.output = home / f"server-{self.port}.log"
        home.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.output, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                charter,
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                os.environ.get("CHARTER_TEST_LOG_LEVEL", "warning"),
            ],
            env=environment,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"charter serve exited: {self.output.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("charter serve did not start")

    def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.handle.close()
        return code


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
