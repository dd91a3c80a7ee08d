"""The dashboard: server-rendered pages for approvers, auditors and admins, mounted at ``/``.

Jinja2 templates, htmx for in-place updates and uPlot for time series, both vendored (see
``static/VENDORED.md``); no Node build, and every page works with JavaScript off. Each page
group is a module with its own router; :data:`router` gathers them. Pages act through
:class:`charter.registry.Registry` as the logged-in user, so the registry's permission matrix
decides what each one may see and do.

===============  ============================================================
module           pages
===============  ============================================================
``login``        ``/login``, ``/logout``, ``/``
``inbox``        ``/inbox``, approve and reject
``models``       ``/models``, ``/models/NAME`` (production history, versions)
``suspension``   ``/models/NAME/suspend`` and ``/resume`` (the stop button)
``inferences``   ``/inferences?request_id=ID`` (the inference explorer)
``versions``     ``/models/NAME/versions/N`` (+ card, evidence, artifact)
``compare``      ``/compare?a=NAME:N&b=NAME:M[&changes=1]``
``audit``        ``/audit`` (+ verify, export)
``monitoring``   ``/models/NAME/versions/N/monitoring``
``admin``        ``/admin`` (users, roles, tokens)
===============  ============================================================
"""

from __future__ import annotations

from fastapi import APIRouter

from charter.server.dashboard import (
    admin,
    audit,
    compare,
    inbox,
    inferences,
    login,
    models,
    monitoring,
    static_files,
    suspension,
    versions,
)

router = APIRouter(include_in_schema=False)
for _module in (
    login,
    inbox,
    models,
    suspension,
    versions,
    compare,
    audit,
    monitoring,
    inferences,
    admin,
    static_files,
):
    router.include_router(_module.router)

__all__ = ["router"]
