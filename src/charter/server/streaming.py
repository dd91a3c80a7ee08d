"""Stream what a library function writes to a text file as an HTTP response body.

The registry exports the audit trail by writing to a ``TextIO`` (the CLI passes standard
output). :func:`stream_writer` runs such a function in a thread, hands its text over a bounded
queue in chunks, and yields them to a ``StreamingResponse`` — memory stays flat at a million
entries, and a slow client slows the writer instead of filling memory. The function's own
refusals (a 403, a bad filter) arrive before the first chunk, so they become problem
responses, not a broken stream. A client that goes away stops the writer.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from fastapi.concurrency import run_in_threadpool

_CHUNK = 64 * 1024
_DONE = object()


class _CancelledError(Exception):
    """The reader went away; the writer stops."""


class _QueueText:
    """A write-only text file whose chunks go into a queue."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._buffer: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        self._buffer.append(text)
        self._size += len(text)
        if self._size >= _CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if not self._buffer:
            return
        data = "".join(self._buffer).encode("utf-8")
        self._buffer, self._size = [], 0
        while True:
            if self._cancelled.is_set():
                raise _CancelledError
            try:
                self._chunks.put(data, timeout=0.5)
                return
            except queue.Full:
                continue


async def stream_writer(write: Callable[[TextIO], object]) -> AsyncIterator[bytes]:
    """Run ``write(out)`` in a thread; return its output as an async iterator of bytes.

    Raises whatever ``write`` raises before writing anything (awaited here, so a route can turn
    it into a problem response).
    """
    chunks: queue.Queue[object] = queue.Queue(maxsize=16)
    cancelled = threading.Event()
    out = _QueueText(chunks, cancelled)

    def run() -> None:
        try:
            write(out)  # type: ignore[arg-type]
            out.flush()
        except _CancelledError:
            return
        except BaseException as exc:
            chunks.put(exc)
            return
        chunks.put(_DONE)

    # in the request's context: what the writer audits carries the request id
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), name="charter-stream", daemon=True)
    thread.start()
    first = await run_in_threadpool(chunks.get)
    if isinstance(first, BaseException):
        raise first

    async def rest() -> AsyncIterator[bytes]:
        item = first
        try:
            while item is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes)
                yield item
                item = await run_in_threadpool(chunks.get)
        finally:
            cancelled.set()

    return rest()
