"""A content-addressed store for model artifacts and reports.

Files are kept under their sha256 (``sha256/ab/abcdef...``) in a local folder (default:
``artifacts`` under ``CHARTER_HOME``) or at any fsspec URL (``s3://bucket/charter``,
``memory://charter``, ...). Writing the same bytes twice stores them once. Every read
recomputes the hash and refuses bytes that no longer match.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charter.errors import ArtifactIntegrityError, CharterError, NotFoundError
from charter.files import PRIVATE_FILE, private_dir

ARTIFACT_STORE_ENV = "CHARTER_ARTIFACT_STORE"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredArtifact:
    """Where a stored file lives and what it is."""

    sha256: str
    size: int
    uri: str


def _filesystem(url: str) -> tuple[Any, str]:
    """Fsspec's filesystem and root path for ``url``, or an error saying what to install."""
    import fsspec

    from charter.redaction import redact_url

    try:
        fs, root = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        protocol = url.split("://", 1)[0]
        missing = getattr(exc, "name", None) or str(exc)
        raise CharterError(
            f"the artifact store {redact_url(url)} needs a package that is not installed"
            f" ({missing})",
            hint=f"install fsspec's {protocol}:// filesystem (e.g. pip install s3fs for s3://,"
            " gcsfs for gs://, adlfs for az://), or use a local folder",
        ) from None
    except ValueError as exc:
        raise CharterError(
            f"the artifact store {redact_url(url)} has a protocol fsspec does not know ({exc})",
            hint="use a folder path or an fsspec URL such as s3://bucket/charter or"
            " memory://charter; check CHARTER_ARTIFACT_STORE and --artifact-store",
        ) from None
    return fs, str(root)


def _valid_digest(sha256: str) -> str:
    digest = sha256.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise CharterError(
            f"'{sha256}' is not a sha256 digest",
            hint="artifacts are addressed by their 64-digit hex sha256",
        )
    return digest


class ArtifactStore:
    """Content-addressed storage over a local folder or an fsspec filesystem.

    Parameters
    ----------
    url
        A folder path or an fsspec URL. Local folders are created on first write.
    """

    def __init__(self, url: str | Path) -> None:

        self.url = str(url)
        fs, root = _filesystem(self.url)
        self._fs: Any = fs
        self._root = root.rstrip("/") if root != "/" else root
        self._local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))

    def __repr__(self) -> str:
        return f"ArtifactStore({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """:attr:`url` with any credentials in it replaced by ``***``, for messages."""
        from charter.redaction import redact_url

        return redact_url(self.url)

    def _key(self, sha256: str) -> str:
        return f"{self._root}/sha256/{sha256[:2]}/{sha256}"

    def uri(self, sha256: str) -> str:
        """The address of ``sha256`` in this store."""
        protocol = self._fs.protocol if isinstance(self._fs.protocol, str) else self._fs.protocol[0]
        key = self._key(sha256)
        return key if self._local else f"{protocol}://{key.lstrip('/')}"

    def exists(self, sha256: str) -> bool:
        """Whether the store holds bytes under ``sha256``."""
        return bool(self._fs.exists(self._key(_valid_digest(sha256))))

    def put_file(self, path: str | Path) -> StoredArtifact:
        """Store a file's bytes; return their digest, size and address."""
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"no file at {source}", hint="check the path")
        digest = hashlib.sha256()
        with source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        sha256 = digest.hexdigest()
        size = source.stat().st_size
        key = self._key(sha256)
        if not self._fs.exists(key):
            self._write_atomically(key, lambda tmp: self._fs.put_file(str(source), tmp))
        return StoredArtifact(sha256=sha256, size=size, uri=self.uri(sha256))

    def put_bytes(self, data: bytes) -> StoredArtifact:
        """Store ``data``; return its digest, size and address."""
        sha256 = hashlib.sha256(data).hexdigest()
        key = self._key(sha256)
        if not self._fs.exists(key):
            self._write_atomically(key, lambda tmp: self._fs.pipe_file(tmp, data))
        return StoredArtifact(sha256=sha256, size=len(data), uri=self.uri(sha256))

    def _write_atomically(self, key: str, write: Any) -> None:
        parent = key.rsplit("/", 1)[0]
        if self._local:  # artifacts are private to the registry's owner: 0700 / 0600
            for folder in (self._root, f"{self._root}/sha256", parent):
                private_dir(folder)
        else:
            self._fs.makedirs(parent, exist_ok=True)
        tmp = f"{key}.tmp-{uuid.uuid4().hex}"
        write(tmp)
        if self._local:
            os.chmod(tmp, PRIVATE_FILE)
            os.replace(tmp, key)
        else:
            self._fs.mv(tmp, key)

    def read_bytes(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``, after checking they still hash to it."""
        digest = _valid_digest(sha256)
        key = self._key(digest)
        if not self._fs.exists(key):
            raise self._missing(digest)
        data: bytes = self._fs.cat_file(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise self._tampered(digest, actual)
        return data

    def fetch(self, sha256: str, destination: str | Path) -> Path:
        """Copy the bytes under ``sha256`` to ``destination``, checking their hash on the way.

        A file that does not match is removed again and :class:`ArtifactIntegrityError`
        raised.
        """
        digest = _valid_digest(sha256)
        key = self._key(digest)
        if not self._fs.exists(key):
            raise self._missing(digest)
        target = Path(destination)
        target.parent.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        # into a temporary file beside the target, renamed over it only when the hash holds:
        # a corrupt artifact never replaces (or deletes) a file the user already had there
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with self._fs.open(key, "rb") as source, os.fdopen(fd, "wb") as sink:
                while chunk := source.read(_CHUNK):
                    hasher.update(chunk)
                    sink.write(chunk)
            actual = hasher.hexdigest()
            if actual != digest:
                raise self._tampered(digest, actual)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def fetch_temporary(self, sha256: str, suffix: str = "") -> Path:
        """Fetch into a new temporary file (the caller removes it)."""
        handle, name = tempfile.mkstemp(prefix="charter-", suffix=suffix)
        os.close(handle)
        return self.fetch(sha256, name)

    def copy_to(self, sha256: str, other: ArtifactStore) -> StoredArtifact:
        """Copy one artifact into ``other`` (verified on both sides)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.fetch(sha256, Path(tmp) / sha256)
            return other.put_file(path)

    def _missing(self, sha256: str) -> NotFoundError:
        return NotFoundError(
            f"the artifact store {self.display_url} has no artifact {sha256[:16]}…",
            hint="check CHARTER_ARTIFACT_STORE points at the store the version was registered into",
        )

    def _tampered(self, sha256: str, actual: str) -> ArtifactIntegrityError:
        return ArtifactIntegrityError(
            f"the artifact {sha256[:16]}… in {self.display_url} is corrupt or was tampered"
            f" with: its bytes hash to {actual[:16]}…",
            hint="restore the artifact from a backup, or register the model again from its source",
        )
