"""The REST API, ``/api/v1``: one module per noun, each with its ``router``.

Every route resolves the acting user (:data:`charter.server.deps.actor`) and calls one method
of the registry's service layer, which authorizes and audits; no route checks a role.
"""

from __future__ import annotations

from fastapi import APIRouter

from charter.server.api import users

router = APIRouter()
router.include_router(users.router)
