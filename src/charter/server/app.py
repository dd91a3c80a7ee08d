"""The application factory of Charter's HTTP service.

:func:`create_app` builds one FastAPI application from :class:`ServerSettings`: one
:class:`~charter.registry.Registry` (a pooled engine) opened in the lifespan, the request-id
and body-limit middleware, the problem handlers, and the routers — health, the REST API under
``/api/v1`` (:mod:`charter.server.api`), the dashboard and the serving routes. ``charter serve``
runs it under uvicorn with ``factory=True``, so each worker builds its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import charter
from charter.registry import Registry
from charter.server import api, dashboard, health, problems, serving
from charter.server.jobs import JobRunner
from charter.server.limits import BodyLimitMiddleware
from charter.server.request_id import RequestIdMiddleware
from charter.server.settings import ServerSettings

API_PREFIX = "/api/v1"


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the HTTP service.

    Parameters
    ----------
    settings
        Default: :meth:`ServerSettings.from_env`.

    Returns
    -------
    FastAPI
        The application; its registry opens when the lifespan starts and closes when it ends.
    """
    config = settings or ServerSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = Registry.open(config.database_url, artifact_store=config.artifact_store)
        app.state.registry = registry
        app.state.jobs = JobRunner(registry.engine)
        serving.start(app, registry, str(config.inference_log), config.home)
        try:
            yield
        finally:
            serving.stop(app)  # writes every buffered inference log record
            app.state.jobs.shutdown()
            app.state.registry = None
            registry.close()

    app = FastAPI(
        title="Charter",
        version=charter.__version__,
        summary="Governance as code for machine-learning models: the registry over HTTP.",
        description="Models, versions, evidence, promotion with approvals, flags, users and "
        "tokens, the audit trail, model cards and compliance reports. Authenticate with "
        "`Authorization: Bearer <token>`; errors are `application/problem+json` (RFC 9457). "
        "See docs/api.md.",
        lifespan=lifespan,
    )
    app.state.settings = config
    app.state.registry = None
    problems.install(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=config.max_body_bytes,
        max_upload_bytes=config.max_upload_bytes,
    )
    app.add_middleware(RequestIdMiddleware)  # outermost of ours: every answer carries the id
    app.include_router(health.router)
    app.include_router(api.router, prefix=API_PREFIX)
    app.include_router(dashboard.router)
    serving.install(app)
    return app
