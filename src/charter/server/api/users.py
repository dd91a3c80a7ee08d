"""Users, roles and tokens: who is calling, and (admins) who may call."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from charter.server.deps import ActorDep
from charter.server.problems import problem_responses

router = APIRouter(tags=["users"])


class Me(BaseModel):
    """The user a token belongs to."""

    username: str
    roles: list[str] = Field(description="The roles held, sorted.")


@router.get("/whoami", summary="The user of the token", responses=problem_responses(401))
def whoami(actor: ActorDep) -> Me:
    """The user the bearer token belongs to, and their roles (like `charter whoami`)."""
    return Me(username=actor.username, roles=sorted(r.value for r in actor.roles))
