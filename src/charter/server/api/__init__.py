"""The REST API, ``/api/v1``: one module per noun, each with its ``router``.

Every route resolves the acting user (:data:`charter.server.deps.actor`) and calls one method
of the registry's service layer, which authorizes and audits; no route checks a role.
"""

from __future__ import annotations

from fastapi import APIRouter

from charter.server.api import audit, cards, jobs, models, promotions, tokens, users, versions

router = APIRouter()
for module in (models, versions, promotions, cards, audit, users, tokens, jobs):
    router.include_router(module.router)
