"""CloudEvents of served requests, for Knative, Kafka bridges or Elastic (optional).

With ``CHARTER_CLOUDEVENTS_URL`` set, ``charter serve`` posts one CloudEvent per served request
to that URL in HTTP *binary* mode (CloudEvents 1.0 HTTP binding): the attributes travel as
``ce-*`` headers and the body is the request's rows as JSON, as KServe's and Seldon's payload
loggers do, with the version that answered named in the event itself:

* ``ce-id`` — the request id (the ``X-Request-Id`` of the call);
* ``ce-source`` — ``/charter/models/<model>/versions/<version>``;
* ``ce-type`` — ``org.charter.inference.response``;
* ``ce-time``, ``ce-specversion: 1.0``, ``ce-subject`` (the model), and the extensions
  ``ce-modelversion`` and ``ce-modelsha256``.

Events are sent by the inference log's writer thread after each write (never on the request
path). Delivery is best effort: a failed post is logged and counted
(:attr:`CloudEventsSink.failed`), not retried — the Parquet log stays the record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from charter.serving.log import ServedRows

logger = logging.getLogger("charter.serving.events")
EVENT_TYPE = "org.charter.inference.response"
CLOUDEVENTS_URL_ENV = "CHARTER_CLOUDEVENTS_URL"


class CloudEventsSink:
    """Posts served requests as binary-mode CloudEvents to one URL."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        import httpx

        self.url = url
        self.client = httpx.Client(timeout=timeout)
        self.sent = 0
        self.failed = 0

    def __call__(self, batch: Sequence[ServedRows]) -> None:
        """Send one event per request of ``batch``."""
        for served in batch:
            try:
                answer = self.client.post(self.url, headers=headers(served), content=body(served))
                answer.raise_for_status()
                self.sent += 1
            except Exception as exc:  # best effort: the Parquet log is the record
                self.failed += 1
                logger.warning("CloudEvent %s not delivered: %s", served.request_id, exc)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def headers(served: ServedRows) -> dict[str, str]:
    """The ``ce-*`` headers of a served request."""
    return {
        "ce-specversion": "1.0",
        "ce-id": served.request_id,
        "ce-source": f"/charter/models/{served.model}/versions/{served.version}",
        "ce-type": EVENT_TYPE,
        "ce-time": served.at.isoformat(),
        "ce-subject": served.model,
        "ce-modelversion": str(served.version),
        "ce-modelsha256": served.sha256,
        "content-type": "application/json",
    }


def body(served: ServedRows) -> bytes:
    """The event's data: the rows served, with their inputs, outputs and explanations."""
    rows: list[dict[str, Any]] = []
    for i in range(served.rows):
        row: dict[str, Any] = {
            "row": i,
            "inputs": {k: _plain(v[i]) for k, v in served.inputs.items()},
            "prediction": _plain(served.predictions[i]),
        }
        if served.scores is not None:
            row["score"] = float(served.scores[i])
        if served.explanations is not None and served.explanations[i] is not None:
            row["explanation"] = json.loads(served.explanations[i] or "null")
        rows.append(row)
    document = {
        "model": served.model,
        "version": served.version,
        "sha256": served.sha256,
        "caller": served.caller,
        "latency_ms": served.latency_ms,
        "rows": rows,
    }
    return json.dumps(document, separators=(",", ":"), default=str).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
