"""Writing files so that a refused or failed command never damages what was there.

Every file a command writes at a path the user names (``--out``) is written to a temporary file
in the same folder and renamed over the target only once it is complete: a refusal, an error
or a kill mid-write leaves the old file as it was. Files of the registry's home
(``CHARTER_HOME``: the SQLite database, artifacts, evidence) are private to their owner:
folders 0700, files 0600.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TextIO

from charter.errors import CharterError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _failed(target: Path, exc: OSError) -> CharterError:
    return CharterError(
        f"cannot write {target}: {exc.strerror or exc}",
        hint="check that the folder exists and is writable",
    )


@contextlib.contextmanager
def atomic_output(target: str | Path, *, mode: int | None = None) -> Iterator[TextIO]:
    """A text handle on a temporary file beside ``target``, renamed over it on a clean exit.

    On an exception the temporary file is removed and ``target`` is left untouched. ``mode``
    sets the new file's permissions (default: as an ordinary new file under the umask).
    """
    with _atomic(Path(target), text=True, mode=mode) as handle:
        assert isinstance(handle, io.TextIOWrapper)
        yield handle


@contextlib.contextmanager
def _atomic(target: Path, *, text: bool, mode: int | None) -> Iterator[IO[Any]]:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise _failed(target, exc) from None
    try:
        os.chmod(temporary, mode if mode is not None else _default_mode())
        handle: IO[Any] = (
            os.fdopen(fd, "w", encoding="utf-8", newline="") if text else os.fdopen(fd, "wb")
        )
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomic(target: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    path = Path(target)
    try:
        with _atomic(path, text=False, mode=mode) as handle:
            handle.write(data)
    except OSError as exc:
        raise _failed(path, exc) from None
    return path


def _default_mode() -> int:
    """0666 under the process's umask: what ``open(..., "w")`` would have created."""
    current = os.umask(0)
    os.umask(current)
    return 0o666 & ~current


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as a folder only its owner may enter (0700)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    with contextlib.suppress(OSError):  # a folder of someone else's: leave it as it is
        os.chmod(folder, PRIVATE_DIR)
    return folder


def make_private(path: str | Path) -> None:
    """Make an existing file readable and writable by its owner only (0600)."""
    with contextlib.suppress(OSError):
        os.chmod(path, PRIVATE_FILE)
