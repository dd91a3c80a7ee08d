"""Running monitoring on a cron schedule until stopped.

:func:`run_on_schedule` sleeps until the next time of a cron expression (croniter; five
fields, or six with seconds), runs the job for the period since the previous scheduled time,
and repeats until SIGINT/SIGTERM (or ``max_runs``). Consecutive runs therefore tile time
without gaps or overlaps: the run at 06:00 covers the day since yesterday's 06:00.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from charter.errors import DataError


@dataclass(frozen=True)
class ScheduledRun:
    """One run of a schedule: the period it covers and the job's result."""

    since: datetime
    until: datetime
    result: Any


def parse_cron(expression: str) -> Any:
    """Validate a cron expression and return a croniter for it (UTC).

    Raises
    ------
    DataError
        When the expression is not valid cron.
    """
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise DataError(
            f"'{expression}' is not a cron expression",
            hint='use five fields (minute hour day month weekday), e.g. "0 6 * * *" for'
            " 06:00 UTC every day",
        )
    return croniter(expression, datetime.now(UTC))


def run_on_schedule(
    expression: str,
    job: Callable[[datetime, datetime], Any],
    *,
    first_since: datetime | None = None,
    max_runs: int | None = None,
    on_run: Callable[[ScheduledRun], None] | None = None,
    on_wait: Callable[[datetime], None] | None = None,
    stop: threading.Event | None = None,
) -> list[ScheduledRun]:
    """Run ``job(since, until)`` at every time of ``expression`` until stopped.

    Parameters
    ----------
    expression
        Cron expression, evaluated in UTC.
    job
        Called with the period ``[since, until)`` to cover; its return value is kept.
    first_since
        Start of the first period (default: the scheduled time before the first run).
    max_runs
        Stop after this many runs (default: run until stopped).
    on_run, on_wait
        Called after each run, and before each wait with the time waited for.
    stop
        Set this event to stop (SIGINT and SIGTERM set it too when called from the main
        thread).

    Returns
    -------
    list of ScheduledRun
    """
    from croniter import croniter

    parse_cron(expression)
    event = stop or threading.Event()
    previous_handlers: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous_handlers[sig] = signal.signal(sig, lambda *_: event.set())
    runs: list[ScheduledRun] = []
    try:
        now = datetime.now(UTC)
        itr = croniter(expression, now)
        since = first_since or croniter(expression, now).get_prev(datetime)
        while not event.is_set() and (max_runs is None or len(runs) < max_runs):
            due: datetime = itr.get_next(datetime)
            if on_wait is not None:
                on_wait(due)
            while not event.is_set():
                remaining = (due - datetime.now(UTC)).total_seconds()
                if remaining <= 0:
                    break
                event.wait(min(remaining, 1.0))
            if event.is_set():
                break
            result = job(since, due)
            run = ScheduledRun(since, due, result)
            runs.append(run)
            if on_run is not None:
                on_run(run)
            since = due
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)
    return runs
