"""``GET /healthz`` (the process answers) and ``GET /readyz`` (the registry answers too)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from charter.errors import CharterError
from charter.registry.database import describe_url
from charter.server.deps import RegistryDep
from charter.server.problems import problem_responses

router = APIRouter(tags=["health"])


class NotReadyError(CharterError):
    """The service runs but cannot reach its registry database."""

    code = "not_ready"
    title = "Not ready"
    http_status = 503


class Health(BaseModel):
    """The answer of a health probe."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The answer of a readiness probe: the registry's database answered."""

    status: Literal["ready"] = "ready"
    database: str
    audit_alg: str


@router.get("/healthz", summary="The process is alive")
def healthz() -> Health:
    """Answers as long as the process serves requests; touches nothing else."""
    return Health()


@router.get(
    "/readyz", summary="The registry's database is reachable", responses=problem_responses(503)
)
def readyz(registry: RegistryDep) -> Readiness:
    """Runs ``SELECT 1`` on the registry's database: 200 when it answers, else a 503 problem."""
    url = describe_url(str(registry.engine.url))
    try:
        with registry.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise NotReadyError(
            f"the registry database {url} does not answer: {type(exc).__name__}",
            hint="check that the database runs and CHARTER_DATABASE_URL names it",
        ) from None
    return Readiness(database=url, audit_alg=registry.audit_alg)
