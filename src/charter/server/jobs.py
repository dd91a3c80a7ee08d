"""Background jobs: work too slow to hold a request (registering with training data).

A job runs in a small thread pool of the worker that accepted it, in a copy of the request's
context (so its audit entries carry the request's id). The state of a job announced with 202
lives in the registry's database, table ``charter_jobs`` (migration 0003), so a poll answered
by any worker of the service sees it. A job is visible to the user who started it.

The route waits a moment for the job (``Prefer: wait=N``, RFC 7240; default
:data:`DEFAULT_WAIT_SECONDS`): quick work answers at once, slow work answers ``202 Accepted``
with ``Location: /api/v1/jobs/<id>``; ``Prefer: respond-async`` answers 202 straight away.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Column, Engine, MetaData, String, Table, insert, select, update

from charter.errors import CharterError, NotFoundError
from charter.registry.tables import UTCDateTime, utcnow
from charter.server.problems import error_problem, problem_body

_log = logging.getLogger("charter.server")
DEFAULT_WAIT_SECONDS = 1.0
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+(?:\.\d+)?)", re.IGNORECASE)

#: The server's own table (migration 0003); not governance state, so not audited itself.
jobs_table = Table(
    "charter_jobs",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("request_id", String(128)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("location", String(512)),
    Column("result", JSON),
    Column("problem", JSON),
)

JobStatus = Literal["running", "succeeded", "failed"]


class Job(BaseModel):
    """A background job and, once finished, its outcome."""

    id: str
    kind: str = Field(description="What the job does, e.g. register.")
    status: JobStatus
    created_by: str
    request_id: str | None = Field(description="The X-Request-Id of the call that started it.")
    created_at: datetime
    finished_at: datetime | None = None
    location: str | None = Field(
        default=None, description="Where the created resource lives, once it succeeded."
    )
    result: dict[str, Any] | None = Field(
        default=None, description="The created resource (succeeded)."
    )
    problem: dict[str, Any] | None = Field(
        default=None, description="The problem details of the failure (failed)."
    )


class JobRunner:
    """Runs jobs on a thread pool; keeps the state of the announced ones in the database.

    A job the route answers within its wait is never stored (the caller got the outcome). One
    answered with 202 is *published*: its row is written then, and kept up to date until it
    ends, so polls on any worker see it.

    Parameters
    ----------
    engine
        The registry's engine.
    threads
        Jobs run at once in this process.
    """

    def __init__(self, engine: Engine, *, threads: int = 2) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="charter-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._published: set[str] = set()

    def submit(
        self,
        kind: str,
        *,
        actor: str,
        request_id: str | None,
        work: Callable[[], tuple[BaseModel, str]],
        cleanup: Path | None = None,
    ) -> tuple[str, Future[tuple[BaseModel, str]]]:
        """Start ``work`` (returning the created resource and its location).

        ``cleanup`` is a folder removed when the job ends, however it ends.

        Returns
        -------
        (str, Future)
            The job's id and its future (for :meth:`wait`).
        """
        job = Job(
            id=str(uuid.uuid4()),
            kind=kind,
            status="running",
            created_by=actor,
            request_id=request_id,
            created_at=utcnow(),
        )
        with self._lock:
            self._jobs[job.id] = job
        context = contextvars.copy_context()
        future = self._pool.submit(context.run, self._run, job.id, work, cleanup)
        return job.id, future

    def publish(self, job_id: str) -> Job:
        """Store the job (the caller is about to be told to poll it) and return it."""
        with self._lock:
            job = self._jobs[job_id]
            with self.engine.begin() as connection:
                connection.execute(insert(jobs_table).values(**job.model_dump()))
            if job.status == "running":
                self._published.add(job_id)
            else:
                del self._jobs[job_id]
            return job

    def forget(self, job_id: str) -> None:
        """Drop an unpublished job whose outcome the caller received."""
        with self._lock:
            if job_id not in self._published:
                self._jobs.pop(job_id, None)

    def _run(
        self, job_id: str, work: Callable[[], tuple[BaseModel, str]], cleanup: Path | None
    ) -> tuple[BaseModel, str]:
        try:
            try:
                resource, location = work()
            except CharterError as exc:
                self._finish(job_id, "failed", problem=error_problem(exc))
                raise
            except Exception as exc:
                _log.error("job %s failed unexpectedly", job_id, exc_info=exc)
                self._finish(
                    job_id,
                    "failed",
                    problem=problem_body(
                        500,
                        "internal error: the job failed in a way the server did not anticipate",
                        code="internal_error",
                        hint=f"report it with the job id {job_id}; the server's log holds "
                        "the details",
                    ),
                )
                raise
            self._finish(
                job_id,
                "succeeded",
                result=resource.model_dump(mode="json"),
                location=location,
            )
            return resource, location
        finally:
            if cleanup is not None:
                shutil.rmtree(cleanup, ignore_errors=True)

    def _finish(self, job_id: str, status: JobStatus, **values: Any) -> None:
        finished = utcnow()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            self._jobs[job_id] = job.model_copy(
                update={"status": status, "finished_at": finished, **values}
            )
            if job_id not in self._published:
                return
            self._published.discard(job_id)
            del self._jobs[job_id]
            with self.engine.begin() as connection:
                connection.execute(
                    update(jobs_table)
                    .where(jobs_table.c.id == job_id)
                    .values(status=status, finished_at=finished, **values)
                )

    @staticmethod
    async def wait(
        future: Future[tuple[BaseModel, str]], seconds: float
    ) -> tuple[BaseModel, str] | None:
        """The job's outcome if it ends within ``seconds`` (its error raised), else ``None``."""
        if seconds <= 0 and not future.done():
            return None
        try:
            done: tuple[BaseModel, str] = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future)), timeout=max(seconds, 0.001)
            )
        except TimeoutError:
            return None
        return done

    def get(self, job_id: str, *, actor: str) -> Job:
        """The stored job ``job_id`` if ``actor`` started it."""
        with self.engine.connect() as connection:
            row = connection.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if row is None or row.created_by != actor:
            raise NotFoundError(
                f"no job {job_id} of yours",
                hint="a job is visible to the user who started it; its id is in the Location "
                "of the 202 answer",
            )
        return Job.model_validate(dict(row._mapping))

    def shutdown(self) -> None:
        """Wait for running jobs, then stop the threads."""
        self._pool.shutdown(wait=True)


def preferred_wait(prefer: str | None, default: float = DEFAULT_WAIT_SECONDS) -> float:
    """Seconds to wait for a job, from a ``Prefer`` header (RFC 7240).

    ``respond-async`` means 0; ``wait=N`` means at most N (capped at 30).
    """
    if not prefer:
        return default
    if "respond-async" in prefer.lower():
        return 0.0
    match = _PREFER_WAIT.search(prefer)
    return min(float(match.group(1)), 30.0) if match else default
