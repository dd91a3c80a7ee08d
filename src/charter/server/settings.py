"""What the HTTP service is configured with, read once from the environment.

The registry is found exactly as the CLI finds it (:mod:`charter.registry.database`):
``CHARTER_DATABASE_URL``, else SQLite in ``CHARTER_HOME`` (default ``./.charter``). Cookies are
signed with ``CHARTER_SECRET_KEY``; without one, a key is generated on first start and kept in
``CHARTER_HOME/secret_key`` (mode 0600), so every worker and every restart signs alike.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from charter.artifact_store import ARTIFACT_STORE_ENV
from charter.errors import CharterError
from charter.registry.database import charter_home, database_url

SECRET_KEY_ENV = "CHARTER_SECRET_KEY"
INFERENCE_LOG_ENV = "CHARTER_INFERENCE_LOG"
MAX_BODY_ENV = "CHARTER_MAX_BODY_BYTES"
MAX_UPLOAD_ENV = "CHARTER_MAX_UPLOAD_BYTES"
SECRET_KEY_FILE = "secret_key"
_MIN_SECRET_LENGTH = 32


class ServerSettings(BaseModel):
    """Settings of one Charter HTTP service.

    Attributes
    ----------
    home
        ``CHARTER_HOME``: the default SQLite registry, artifacts and the generated secret key.
    database_url
        The registry's SQLAlchemy URL (``CHARTER_DATABASE_URL`` or SQLite in ``home``).
    artifact_store
        ``CHARTER_ARTIFACT_STORE``, else the store recorded by ``charter init``.
    inference_log
        ``CHARTER_INFERENCE_LOG``: where the serving routes append predictions
        (default ``home/inference``).
    secret_key
        Signs session cookies and CSRF tokens.
    max_body_bytes
        Largest JSON or form body accepted (413 beyond).
    max_upload_bytes
        Largest multipart upload accepted, all files together (413 beyond).
    """

    model_config = ConfigDict(frozen=True)

    home: Path
    database_url: str
    artifact_store: str | None = None
    inference_log: Path
    secret_key: SecretStr
    max_body_bytes: int = Field(default=1 << 20, gt=0)
    max_upload_bytes: int = Field(default=512 << 20, gt=0)

    @classmethod
    def from_env(cls, *, home: str | Path | None = None) -> ServerSettings:
        """Read the settings from the environment, as the CLI does.

        Parameters
        ----------
        home
            Overrides ``CHARTER_HOME``.

        Raises
        ------
        CharterError
            A limit that is not a positive whole number, or a secret key too short.
        """
        folder = charter_home(home)
        key = os.environ.get(SECRET_KEY_ENV)
        if key is not None and len(key) < _MIN_SECRET_LENGTH:
            raise CharterError(
                f"{SECRET_KEY_ENV} is {len(key)} characters; it needs at least "
                f"{_MIN_SECRET_LENGTH}",
                hint=f'generate one: export {SECRET_KEY_ENV}="$(python -c '
                "'import secrets; print(secrets.token_urlsafe(48))')\"",
            )
        log = os.environ.get(INFERENCE_LOG_ENV)
        return cls(
            home=folder,
            database_url=database_url(home=folder),
            artifact_store=os.environ.get(ARTIFACT_STORE_ENV) or None,
            inference_log=Path(log) if log else folder / "inference",
            secret_key=SecretStr(key or stored_secret_key(folder)),
            max_body_bytes=_positive_int(MAX_BODY_ENV, 1 << 20),
            max_upload_bytes=_positive_int(MAX_UPLOAD_ENV, 512 << 20),
        )


def stored_secret_key(home: Path) -> str:
    """The key kept in ``home/secret_key``, created (mode 0600) when missing.

    Two workers starting at once end up with the same key.
    """
    path = home / SECRET_KEY_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if len(text) >= _MIN_SECRET_LENGTH:
        return text
    home.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(48)
    # written whole under a private name, then linked into place: a reader never sees a half
    # file, and of two workers starting at once the second links nothing and reads the first's
    scratch = home / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(fresh + "\n")
    try:
        os.link(scratch, path)
    except FileExistsError:
        text = path.read_text(encoding="utf-8").strip()
        if len(text) < _MIN_SECRET_LENGTH:
            raise CharterError(
                f"{path} holds no usable secret key",
                hint=f"delete it (a new one is generated) or set {SECRET_KEY_ENV}",
            ) from None
        return text
    finally:
        scratch.unlink(missing_ok=True)
    return fresh


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise CharterError(
            f"{name}='{raw}' is not a positive number of bytes", hint=f"e.g. {name}={default}"
        )
    return value
