"""Background jobs, polled: ``GET /jobs/{id}`` until ``status`` is not ``running``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from charter.server.deps import ActorDep
from charter.server.jobs import Job, JobRunner
from charter.server.problems import problem_responses

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", summary="A background job", responses=problem_responses(401, 404))
def get_job(job_id: str, request: Request, actor: ActorDep) -> Job:
    """The job and, once finished, the created resource (``result``) or the ``problem``."""
    runner: JobRunner = request.app.state.jobs
    return runner.get(job_id, actor=actor.username)
