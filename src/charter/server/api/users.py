"""Users and roles: who is calling, and (admins) who may call.

Adding a user answers with their first token, shown this once.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from charter.registry import Action, IssuedToken, Role, UserInfo
from charter.server.deps import ActorDep, RegistryDep, performs
from charter.server.problems import problem_responses

router = APIRouter(tags=["users"])

_WRITE = problem_responses(400, 401, 403, 404, 409, 422)


class Me(BaseModel):
    """The user a token belongs to."""

    username: str
    roles: list[str] = Field(description="The roles held, sorted.")


class NewUser(BaseModel):
    """A user to add, with their roles."""

    username: str = Field(min_length=1, max_length=128)
    roles: list[Role] = Field(min_length=1)
    label: str | None = Field(default=None, max_length=200, description="Their first token's.")


class RoleChange(BaseModel):
    """Roles to give."""

    roles: list[Role] = Field(min_length=1)


class Roles(BaseModel):
    """The roles a user holds now."""

    username: str
    roles: list[str]


@router.get("/whoami", summary="The user of the token", responses=problem_responses(401))
def whoami(actor: ActorDep) -> Me:
    """The user the bearer token belongs to, and their roles (like `charter whoami`)."""
    return Me(username=actor.username, roles=sorted(r.value for r in actor.roles))


@router.get(
    "/users",
    summary="Every user",
    openapi_extra=performs(Action.USER_LIST),
    responses=problem_responses(401, 403),
)
def list_users(registry: RegistryDep, actor: ActorDep) -> list[UserInfo]:
    """Every user with their roles (admins and auditors)."""
    return registry.list_users(actor=actor)


@router.post(
    "/users",
    summary="Add a user",
    status_code=201,
    openapi_extra=performs(Action.USER_ADD),
    responses=_WRITE,
)
def add_user(body: NewUser, registry: RegistryDep, actor: ActorDep) -> IssuedToken:
    """Add a user; the answer holds their first token, shown this once."""
    return registry.add_user(body.username, body.roles, actor=actor, label=body.label)


@router.post(
    "/users/{username}/roles",
    summary="Grant roles",
    openapi_extra=performs(Action.USER_GRANT),
    responses=_WRITE,
)
def grant_roles(username: str, body: RoleChange, registry: RegistryDep, actor: ActorDep) -> Roles:
    """Give a user more roles."""
    return Roles(username=username, roles=registry.grant(username, body.roles, actor=actor))


@router.delete(
    "/users/{username}/roles/{role}",
    summary="Take a role away",
    openapi_extra=performs(Action.USER_GRANT),
    responses=_WRITE,
)
def remove_role(username: str, role: Role, registry: RegistryDep, actor: ActorDep) -> Roles:
    """Take one role away from a user (never the last admin's)."""
    return Roles(username=username, roles=registry.revoke_role(username, role, actor=actor))


@router.post(
    "/users/{username}/disable",
    summary="Disable a user",
    status_code=204,
    openapi_extra=performs(Action.USER_DISABLE),
    responses=_WRITE,
)
def disable_user(username: str, registry: RegistryDep, actor: ActorDep) -> None:
    """Disable a user: their tokens stop working; their history stays."""
    registry.disable_user(username, actor=actor)
