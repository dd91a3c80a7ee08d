"""Tokens: create (shown once; the registry keeps the hash only) and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from charter.registry import Action, IssuedToken
from charter.registry.listings import TokenInfo
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.problems import problem_responses

router = APIRouter(tags=["tokens"])

_WRITE = problem_responses(400, 401, 403, 404, 409, 422)


class NewToken(BaseModel):
    """A token to create: one's own, or (admins) another user's."""

    username: str | None = Field(default=None, description="For another user (admin only).")
    label: str | None = Field(default=None, max_length=200, description="What it is for.")
    expires_days: int | None = Field(default=None, gt=0, le=3650)


@router.post(
    "/tokens",
    summary="Create a token",
    status_code=201,
    openapi_extra=performs(Action.TOKEN_CREATE, Action.TOKEN_MANAGE),
    responses=_WRITE,
)
def create_token(body: NewToken, registry: RegistryDep, actor: ActorDep) -> IssuedToken:
    """A new token, shown this once; the registry keeps its hash only."""
    return registry.create_token(
        actor=actor, username=body.username, label=body.label, expires_days=body.expires_days
    )


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke a token",
    status_code=204,
    openapi_extra=performs(Action.TOKEN_CREATE, Action.TOKEN_MANAGE),
    responses=_WRITE,
)
def revoke_token(token_id: int, registry: RegistryDep, actor: ActorDep) -> None:
    """Revoke a token (one's own; admins: anyone's)."""
    registry.revoke_token(token_id, actor=actor)


@router.get(
    "/tokens",
    summary="List tokens",
    openapi_extra=performs(Action.TOKEN_CREATE, Action.TOKEN_MANAGE),
    responses=problem_responses(401, 403),
)
def list_tokens(
    registry: RegistryDep,
    actor: ActorDep,
    username: Annotated[
        str | None, Query(description="Whose tokens (default: yours; others': admin).")
    ] = None,
    every: Annotated[bool, Query(alias="all", description="Every user's tokens (admin).")] = False,
) -> list[TokenInfo]:
    """Tokens by prefix, label and dates, newest first; never the tokens themselves."""
    whose = None if every else (username or actor.username)
    return registry.list_tokens(actor=actor, username=whose)
