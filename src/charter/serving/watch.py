"""Monitoring the served log on the policy's schedule, inside ``charter serve``.

A production version whose policy sets ``monitoring.schedule`` (cron, UTC) is monitored by
:class:`ScheduledMonitoring`: at each scheduled time the log writer flushes, and the library's
monitor use case (:func:`charter.monitor.target.monitor_version`) runs on that version's folder
of the log for the period since the previous time, with the labels posted beside it. With a
token of a user holding the ``monitor`` role (``CHARTER_MONITOR_TOKEN``) the run records its
evidence in the registry and takes the policy's actions (``needs-review`` flag, webhook,
Prometheus, command) as ``charter monitor`` does; without one it runs read-only and only the
server's metrics show its verdict. Each run's evidence and report are written under
``<home>/monitoring/<model>/<version>/``.

Scheduled monitoring reads a local log folder; with several workers each would run it, so run
``charter monitor --schedule`` beside the server instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from charter.errors import CharterError

if TYPE_CHECKING:
    from charter.registry import Actor, Registry

logger = logging.getLogger("charter.serving.watch")

#: The environment variable holding the token of the user that records scheduled runs.
MONITOR_TOKEN_ENV = "CHARTER_MONITOR_TOKEN"


class ScheduledMonitoring:
    """One thread per scheduled model, each running the monitor on its schedule.

    Parameters
    ----------
    registry
        The registry of the served versions.
    log_root
        The inference log's root folder.
    out
        Where each run's evidence and report go.
    actor
        Who records the runs (a ``monitor`` user), or a system actor (read only).
    record
        Whether to record evidence and take the policy's actions.
    flush
        Called before each run (writes the buffered log records).
    on_result
        Called with ``(model, version, passed)`` after each run.
    """

    def __init__(
        self,
        registry: Registry,
        log_root: str,
        out: Path,
        *,
        actor: Actor,
        record: bool,
        flush: Callable[[], Any],
        on_result: Callable[[str, int, bool], None],
    ) -> None:
        self.registry = registry
        self.log_root = log_root
        self.out = out
        self.actor = actor
        self.record = record
        self.flush = flush
        self.on_result = on_result
        self.stop_event = threading.Event()
        self.threads: dict[str, threading.Thread] = {}
        self.runs: list[tuple[str, int, bool]] = []

    def watch(self, name: str, expression: str, version: Callable[[], int]) -> None:
        """Monitor ``name`` at every time of ``expression`` (the version answering then)."""
        if name in self.threads:
            return
        from charter.monitor.schedule import run_on_schedule

        def job(since: datetime, until: datetime) -> bool:
            return self.run_once(name, version(), since, until)

        def loop() -> None:
            try:
                run_on_schedule(expression, job, stop=self.stop_event)
            except Exception:  # a broken schedule must not take the server down
                logger.exception("scheduled monitoring of %s stopped", name)

        thread = threading.Thread(target=loop, name=f"charter-monitor-{name}", daemon=True)
        self.threads[name] = thread
        thread.start()

    def run_once(self, name: str, number: int, since: datetime, until: datetime) -> bool:
        """Monitor one version over ``[since, until)``; returns whether it passed."""
        from charter.monitor.target import monitor_version

        self.flush()
        folder = Path(self.log_root) / name / str(number)
        out = self.out / name / str(number) / until.strftime("%Y%m%dT%H%M%S")
        try:
            outcome = monitor_version(
                cast(Any, self.registry),  # the Registry has the MonitoringRegistry methods
                name,
                actor=self.actor,
                log=str(folder),
                version=str(number),
                since=since,
                until=until,
                out=out,
                actions=self.record,
            )
        except CharterError as exc:
            logger.warning("scheduled monitoring of %s:%s could not run: %s", name, number, exc)
            return False
        passed = bool(outcome.passed)
        self.runs.append((name, number, passed))
        self.on_result(name, number, passed)
        logger.info("monitored %s:%s at %s: %s", name, number, time.time(), passed)
        return passed

    def stop(self) -> None:
        """Stop every schedule (a run in progress finishes)."""
        self.stop_event.set()
        for thread in self.threads.values():
            thread.join(30)
