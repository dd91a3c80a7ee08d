"""Delayed labels of served rows, stored beside the inference log.

``POST /api/v1/models/{name}/labels`` takes ``[{"request_id", "row", "label"}]`` and
:meth:`LabelStore.write` appends them as one Parquet file under the log's root::

    root/_labels/<model>/<host>-<pid>-<writer>-<sequence>.parquet

with the columns ``request_id``, ``row``, the policy's target column (``data.target``, or
``label``), ``labelled_at`` and ``labelled_by``. ``charter monitor NAME --log root/<model>``
finds them there (:func:`charter.monitor.logs.served_labels`) and joins them to the log by
request id and row, whatever the time between the prediction and its label: no lookback
window. A row labelled twice keeps its latest label.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from charter.errors import DataError
from charter.monitor.logs import LABELS_DIR
from charter.serving.log import now


class LabelStore:
    """Appends labels beside an inference log (a folder or any fsspec URL)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        import fsspec.core

        self.root = str(root)
        self.fs, self.base = fsspec.core.url_to_fs(self.root)
        self.writer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._sequence = 0
        self._lock = threading.Lock()

    def folder(self, model: str) -> str:
        """Where the labels of ``model`` are kept."""
        return f"{self.base.rstrip('/')}/{LABELS_DIR}/{model}"

    def write(self, model: str, labels: Sequence[Any], *, target: str = "label", by: str) -> int:
        """Validate and store labels; returns how many were stored.

        Raises
        ------
        DataError
            A label that is not ``{"request_id": str, "row": int >= 0, "label": value}`` (the
            message names its position); nothing is stored.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not isinstance(labels, list) or not labels:
            raise DataError(
                "labels must be a non-empty list of {request_id, row, label}",
                hint='send [{"request_id": "…", "row": 0, "label": 1}]',
            )
        ids, rows, values = [], [], []
        for i, item in enumerate(labels):
            if not isinstance(item, dict):
                raise DataError(f"label {i} is not an object", hint="send {request_id, row, label}")
            request_id, row = item.get("request_id"), item.get("row", 0)
            if not isinstance(request_id, str) or not request_id:
                raise DataError(f"label {i} has no request_id", hint="copy it from the response")
            if not isinstance(row, int) or isinstance(row, bool) or row < 0:
                raise DataError(
                    f"label {i}: row must be the row's position in its request (0, 1, …)",
                    hint="send the row's index within the request it was predicted in",
                )
            if (
                "label" not in item
                or item["label"] is None
                or isinstance(item["label"], list | dict)
            ):
                raise DataError(f"label {i} has no label value", hint="send a class or a number")
            ids.append(request_id)
            rows.append(row)
            values.append(item["label"])
        at = now()
        table = pa.table(
            {
                "request_id": pa.array(ids, pa.string()),
                "row": pa.array(rows, pa.int32()),
                target: pa.array(values),
                "labelled_at": pa.array([at] * len(ids), pa.timestamp("us", tz="UTC")),
                "labelled_by": pa.array([by] * len(ids), pa.string()),
            }
        )
        with self._lock:
            self._sequence += 1
            name = f"{self.writer_id}-{self._sequence:06d}.parquet"
        folder = self.folder(model)
        self.fs.makedirs(folder, exist_ok=True)
        partial, target_path = f"{folder}/.{name}.partial", f"{folder}/{name}"
        with self.fs.open(partial, "wb") as handle:
            pq.write_table(table, handle)
        self.fs.mv(partial, target_path)
        return len(ids)
