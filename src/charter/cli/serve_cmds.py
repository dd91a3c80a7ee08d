"""``charter serve``: the HTTP service (REST API, dashboard, serving) under uvicorn."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from charter.cli.console import err_console

app = typer.Typer()  # mounted by charter.cli.app


def log_config(level: str) -> dict[str, Any]:
    """Logging: uvicorn's, plus Charter's JSON access lines on standard error."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(message)s"},
            "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            },
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "charter.server": {
                "handlers": ["default"],
                "level": level.upper(),
                "propagate": False,
            },
            "charter.server.access": {
                "handlers": ["access"],
                "level": "INFO",
                "propagate": False,
            },
        },
    }


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=0, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes (use PostgreSQL for more than a few).", min=1)
    ] = 1,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the REST API (/api/v1), the dashboard (/) and the model on HTTP.

    The registry is the one the CLI uses (CHARTER_HOME or CHARTER_DATABASE_URL); each request
    authenticates with a token (Authorization: Bearer <token>).
    """
    import uvicorn

    from charter.errors import CharterError
    from charter.registry import Registry
    from charter.registry.database import describe_url
    from charter.server.settings import ServerSettings

    if log_level.lower() not in {"debug", "info", "warning", "error"}:
        raise CharterError(
            f"unknown log level '{log_level}'", hint="use debug, info, warning or error"
        )
    # fail here, with exit 2, rather than in every worker: no registry, a bad URL, a bad key
    settings = ServerSettings.from_env()
    Registry.open(settings.database_url, artifact_store=settings.artifact_store).close()
    err_console.print(
        f"serving the registry at {describe_url(settings.database_url)} on "
        f"http://{host}:{port} ({workers} worker{'s' if workers != 1 else ''})",
        highlight=False,
    )
    uvicorn.run(
        "charter.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(log_level),
        access_log=False,
        proxy_headers=False,
    )
