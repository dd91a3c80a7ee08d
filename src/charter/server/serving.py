"""The serving routes: predictions explained, logged and tied to their governed version.

* ``POST /api/v1/models/{name}/predict`` — the production version by default (``?version=N`` or
  ``?alias=A`` for callers allowed ``model.predict_version``), ``?explain=false``, ``?top=k``.
  Accepts MLflow's scoring formats and the Open Inference Protocol v2 (see
  :mod:`charter.serving.payload`); answers with the request id, the version that answered
  (name, number, artifact sha256), the predictions, the scores and one explanation per row.
* ``POST /invocations`` — MLflow's scoring route for drop-in use (``{"predictions": [...]}``),
  for the model named by ``?model=`` or ``CHARTER_SERVE_MODEL``.
* ``POST /api/v1/models/{name}/labels`` — delayed labels ``[{request_id, row, label}]``.
* ``POST /api/v1/models/{name}/suspend`` and ``/resume`` — the stop button;
  ``GET /api/v1/models/{name}/serving`` — what is served and whether it is suspended.
* ``GET /api/v1/inferences/{request_id}`` — a served request's rows, as logged, with labels.
* ``GET /metrics`` — Prometheus.

Authorization is the registry's (:func:`charter.registry.serving.authorize`). A token is
resolved once per second at most (:class:`_TokenCache`): a revoked token stops working within
a second, like a promotion starts being served within one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from charter.errors import CharterError, DataError, NotFoundError
from charter.registry import Actor, Registry
from charter.registry import serving as registry_serving
from charter.registry.roles import Action
from charter.server.deps import bearer_token
from charter.server.problems import problem_responses, request_id_of
from charter.serving.events import CLOUDEVENTS_URL_ENV, CloudEventsSink
from charter.serving.labels import LabelStore
from charter.serving.loaded import SERVING_ACTOR, LoadedVersion, Prediction, ServedModels
from charter.serving.log import InferenceLog
from charter.serving.payload import read_payload
from charter.serving.schema import InvalidInputError
from charter.serving.watch import MONITOR_TOKEN_ENV, ScheduledMonitoring

SERVE_MODEL_ENV = "CHARTER_SERVE_MODEL"
#: Rows above which a request is computed off the event loop.
_THREADPOOL_ROWS = 64
_JSON = "application/json"

#: The routes read raw bodies (no pydantic model: one parse, no copy); the document still says
#: what they take and who may call them.
_SECURED: dict[str, Any] = {"security": [{"bearer": []}]}
_ROWS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
_SCORING_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "MLflow's scoring formats or Open Inference Protocol v2",
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["dataframe_split"],
                            "properties": {
                                "dataframe_split": {
                                    "type": "object",
                                    "properties": {
                                        "columns": {"type": "array", "items": {"type": "string"}},
                                        "data": {"type": "array", "items": {"type": "array"}},
                                    },
                                }
                            },
                        },
                        {
                            "type": "object",
                            "required": ["dataframe_records"],
                            "properties": {"dataframe_records": _ROWS},
                        },
                        {
                            "type": "object",
                            "required": ["instances"],
                            "properties": {"instances": _ROWS},
                        },
                        {
                            "type": "object",
                            "required": ["inputs"],
                            "properties": {
                                "inputs": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                    ],
                }
            }
        },
    },
    **_SECURED,
}
_LABELS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["request_id", "row", "label"],
                        "properties": {
                            "request_id": {"type": "string"},
                            "row": {"type": "integer", "minimum": 0},
                            "label": {},
                        },
                    },
                }
            }
        },
    },
    **_SECURED,
}


def _json_answer(
    description: str, schema: dict[str, Any], status: int = 200
) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
_PREDICTIONS = _json_answer(
    "One prediction, score and explanation per row, with the version that answered",
    {
        "type": "object",
        "required": ["request_id", "model", "predictions"],
        "properties": {
            "request_id": {"type": "string"},
            "model": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "version": {"type": "integer"},
                    "sha256": {"type": "string"},
                },
            },
            "predictions": {"type": "array", "items": {}},
            "scores": {"type": "array", "items": {"type": "number"}},
            "explanations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "base_value": {"type": "number"},
                        "output_space": {"type": "string"},
                        "method": {"type": "string"},
                        "contributions": {
                            "type": "object",
                            "additionalProperties": {"type": "number"},
                        },
                    },
                },
            },
        },
    },
)

router = APIRouter(tags=["serving"], responses=problem_responses(401, 403, 404, 422, 503))
logger = logging.getLogger("charter.server.serving")


class ServiceSuspendedError(CharterError):
    """Serving of a model suspended by a person (HTTP 503, with their reason)."""

    code = "serving_suspended"
    title = "Serving suspended"
    exit_code = 2
    http_status = 503


@dataclass
class _TokenCache:
    registry: Registry
    ttl: float = 1.0
    entries: dict[str, tuple[float, Actor]] = field(default_factory=dict)

    def actor(self, token: str | None) -> Actor:
        if token:
            hit = self.entries.get(token)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
        actor = self.registry.authenticate(token)
        if token:
            if len(self.entries) > 10_000:
                self.entries.clear()
            self.entries[token] = (time.monotonic() + self.ttl, actor)
        return actor


class Serving:
    """What the serving routes share in one application: versions, log, labels, metrics."""

    def __init__(
        self,
        registry: Registry,
        log_root: str,
        *,
        home: Path | None = None,
        refresh_interval: float = 1.0,
    ):
        from charter.serving.metrics import ServingMetrics

        self.registry = registry
        self.models = ServedModels(registry, refresh_interval=refresh_interval)
        events_url = os.environ.get(CLOUDEVENTS_URL_ENV)
        self.events = CloudEventsSink(events_url) if events_url else None
        self.log = InferenceLog(log_root, sink=self.events)
        self.labels = LabelStore(log_root)
        self.tokens = _TokenCache(registry)
        self.metrics = ServingMetrics(self)
        self.suspended: dict[str, registry_serving.Suspension] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh_interval = refresh_interval
        self.home = home
        self.watching: ScheduledMonitoring | None = None

    def start(self) -> None:
        """Load every production version, start the log writer and the refreshes."""
        self.preload()
        self.log.start()
        self.models.start()
        self._watch()
        self._refresh_suspensions()
        self._thread = threading.Thread(target=self._run, name="charter-suspensions", daemon=True)
        self._thread.start()

    def preload(self) -> None:
        """Load the production version of every model now, so no request waits for it."""
        for summary in self.registry.list_models(actor=SERVING_ACTOR):
            if summary.production is None:
                continue
            try:
                self.models.get(summary.name, "production")
            except CharterError as exc:  # served on first request, or refused then
                logger.warning("cannot preload %s: %s", summary.name, exc)

    def _watch(self) -> None:
        """Monitor, on its policy's schedule, every production version that has one."""
        scheduled = [v for v in self.models.loaded() if v.schedule]
        if not scheduled:
            return
        if "://" in self.log.root or self.home is None:
            logger.warning("scheduled monitoring needs a local inference log; not started")
            return
        token = os.environ.get(MONITOR_TOKEN_ENV)
        actor = self.registry.authenticate(token) if token else SERVING_ACTOR
        self.watching = ScheduledMonitoring(
            self.registry,
            self.log.root,
            self.home / "monitoring",
            actor=actor,
            record=token is not None,
            flush=self.log.flush,
            on_result=lambda name, number, passed: self.metrics.monitored(
                name, number, passed, time.time()
            ),
        )
        for loaded in scheduled:
            assert loaded.schedule is not None
            self.watching.watch(loaded.name, loaded.schedule, self._production_of(loaded.name))

    def _production_of(self, name: str) -> Callable[[], int]:
        """The number of the version answering for ``name`` when called."""
        return lambda: self.models.get(name, "production").number

    def stop(self) -> None:
        """Stop refreshing and monitoring, and write every buffered log record."""
        if self.watching is not None:
            self.watching.stop()
        self._stop.set()
        self.models.stop()
        self.log.stop()
        if self.events is not None:
            self.events.close()

    def _refresh_suspensions(self) -> None:
        self.suspended = registry_serving.suspended_models(self.registry)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_interval):
            try:
                self._refresh_suspensions()
            except Exception:  # keep serving on a registry hiccup
                continue

    def check_running(self, name: str) -> None:
        """Raise 503 with the person's reason when serving of ``name`` is suspended."""
        stopped = self.suspended.get(name)
        if stopped is not None:
            raise ServiceSuspendedError(
                f"serving of {name} is suspended by {stopped.suspended_by} since"
                f" {stopped.suspended_at:%Y-%m-%d %H:%M} UTC: {stopped.reason}",
                hint=f"an approver or admin resumes it: charter resume {name}",
            )

    def suspend(self, name: str, reason: str, *, actor: Actor) -> registry_serving.Suspension:
        """The stop button: suspend ``name`` (audited by the registry), refused from now on."""
        done = registry_serving.suspend(self.registry, name, reason, actor=actor)
        self.suspended = {**self.suspended, name: done}
        return done

    def resume(
        self, name: str, *, actor: Actor, reason: str | None = None
    ) -> registry_serving.Suspension:
        """Resume the serving of ``name`` (audited by the registry), served from now on."""
        done = registry_serving.resume(self.registry, name, actor=actor, reason=reason)
        self.suspended = {k: v for k, v in self.suspended.items() if k != name}
        return done

    def lookup(self, request_id: str, *, actor: Actor) -> list[dict[str, Any]]:
        """The logged rows of a served request, for an actor allowed ``inference.read``.

        Raises
        ------
        NotFoundError
            No served request has that id in the inference log.
        PermissionDeniedError
            The actor may not read the inferences of the request's model.
        """
        from charter.serving.lookup import find_request

        self.log.flush()
        rows = find_request(self.log.root, request_id)
        if not rows:
            raise NotFoundError(
                f"no served request {request_id} in the inference log",
                hint="copy the request_id of a predict response (or its X-Request-Id header)",
            )
        registry_serving.authorize(self.registry, actor, Action.INFERENCE_READ, rows[0]["model"])
        return rows


def install(app: FastAPI) -> None:
    """Add the serving routes (the lifespan calls :func:`start` and :func:`stop`)."""
    app.include_router(router)


def start(app: FastAPI, registry: Registry, log_root: str, home: Path | None = None) -> Serving:
    """Create and start the serving state of ``app``."""
    interval = float(os.environ.get("CHARTER_SERVE_REFRESH", "1.0"))
    state = Serving(registry, log_root, home=home, refresh_interval=interval)
    state.start()
    app.state.serving = state
    return state


def stop(app: FastAPI) -> None:
    """Flush the log and stop the background threads."""
    state = getattr(app.state, "serving", None)
    if state is not None:
        state.stop()
        app.state.serving = None


def serving_of(request: Request) -> Serving:
    """The serving state of the application answering ``request``."""
    state = getattr(request.app.state, "serving", None)
    if state is None:
        raise CharterError("serving is not running", hint="run the app under its lifespan")
    assert isinstance(state, Serving)
    return state


def _actor(request: Request, state: Serving) -> Actor:
    actor = state.tokens.actor(bearer_token(request))
    request.state.username = actor.username
    return actor


async def _json(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DataError(
            f"the request body is not valid JSON: {exc}", hint="send a JSON document"
        ) from None


def _response(body: Any, status: int = 200, *, started: float | None = None) -> Response:
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    headers = None
    if started is not None:  # W3C Server-Timing: parse, validate, predict, explain, log, encode
        headers = {"server-timing": f"app;dur={(time.perf_counter() - started) * 1000:.3f}"}
    return Response(text, status, media_type=_JSON, headers=headers)


def _ref(version: int | None, alias: str | None) -> str | int:
    if version is not None and alias is not None:
        raise DataError("pass ?version or ?alias, not both", hint="choose one")
    if version is not None:
        return version
    return alias if alias is not None else "production"


async def _serve(
    request: Request,
    name: str,
    ref: str | int,
    *,
    explain: bool,
    top: int | None,
) -> tuple[Serving, LoadedVersion, Prediction, str, str]:
    started = time.perf_counter()
    state = serving_of(request)
    actor = _actor(request, state)
    action = Action.MODEL_PREDICT if ref == "production" else Action.MODEL_PREDICT_VERSION
    registry_serving.authorize(state.registry, actor, action, name)
    state.check_running(name)
    if top is not None and top <= 0:
        raise DataError(f"top={top} is not a positive number", hint="pass ?top=5, say")
    loaded = state.models.get(name, ref)
    payload = await _json(request)
    request_id = request_id_of(request) or ""
    try:
        batch = read_payload(payload, loaded.schema.names)
        if batch.rows > _THREADPOOL_ROWS:
            prediction = await run_in_threadpool(loaded.predict, batch, explain=explain, top=top)
        else:
            prediction = loaded.predict(batch, explain=explain, top=top)
    except InvalidInputError as exc:
        state.metrics.outcome(loaded, "rejected")
        state.log.reject(loaded, request_id, actor.username, exc)
        raise
    except DataError:
        state.metrics.outcome(loaded, "rejected")
        raise
    state.log.append(prediction.served_rows(request_id, actor.username, top_in_log=None))
    state.metrics.served(loaded, prediction, time.perf_counter() - started, explain)
    request.state.serving_started = started
    return state, loaded, prediction, request_id, actor.username


@router.post(
    "/api/v1/models/{name}/predict",
    summary="Predict, explain and log",
    openapi_extra=_SCORING_BODY,
    responses=_PREDICTIONS,
)
async def predict(
    name: str,
    request: Request,
    version: int | None = None,
    alias: str | None = None,
    explain: bool = True,
    top: int | None = None,
) -> Response:
    """Predictions of the production version (or ``?version``/``?alias``), explained."""
    ref = _ref(version, alias)
    _, _, prediction, request_id, _ = await _serve(request, name, ref, explain=explain, top=top)
    return _response(prediction.response(request_id), started=request.state.serving_started)


@router.post(
    "/invocations",
    summary="MLflow's scoring route (drop-in)",
    openapi_extra=_SCORING_BODY,
    responses=_json_answer(
        "MLflow's response shape",
        {"type": "object", "properties": {"predictions": {"type": "array", "items": {}}}},
    ),
)
async def invocations(request: Request, model: str | None = None) -> Response:
    """``mlflow models serve``'s route: ``{"predictions": [...]}`` of the production version."""
    name = model or os.environ.get(SERVE_MODEL_ENV)
    if not name:
        raise DataError(
            "POST /invocations needs to know which model to serve",
            hint=f"pass ?model=NAME or set {SERVE_MODEL_ENV} for `charter serve`",
        )
    _, _, prediction, _, _ = await _serve(request, name, "production", explain=True, top=None)
    return _response(
        {"predictions": prediction.outputs.predictions}, started=request.state.serving_started
    )


@router.post(
    "/api/v1/models/{name}/labels",
    summary="Post delayed labels",
    status_code=201,
    openapi_extra=_LABELS_BODY,
    responses=_json_answer("How many labels were stored", _OBJECT, 201),
)
async def post_labels(name: str, request: Request) -> Response:
    """Store ``[{request_id, row, label}]`` beside the log, for the monitor to join."""
    state = serving_of(request)
    actor = _actor(request, state)
    registry_serving.authorize(state.registry, actor, Action.LABELS_WRITE, name)
    payload = await _json(request)
    items: Any = payload.get("labels") if isinstance(payload, dict) else payload
    target = state.models.get(name, "production").target
    stored = state.labels.write(name, items, target=target, by=actor.username)
    return _response({"model": name, "stored": stored}, 201)


@router.get(
    "/api/v1/models/{name}/serving",
    summary="What is served, and is it suspended",
    openapi_extra=_SECURED,
    responses=_json_answer("What is served, and is it suspended", _OBJECT),
)
def serving_status(name: str, request: Request) -> Response:
    """The version answering for production, its inputs and explainer, the suspension."""
    state = serving_of(request)
    actor = _actor(request, state)
    registry_serving.authorize(state.registry, actor, Action.INFERENCE_READ, name)
    stopped = registry_serving.suspension(state.registry, name)
    body: dict[str, Any] = {
        "model": name,
        "suspended": stopped is not None,
        "suspension": stopped.model_dump(mode="json") if stopped else None,
    }
    try:
        body["production"] = state.models.get(name, "production").describe()
    except NotFoundError:
        body["production"] = None
    return _response(body)


@router.post(
    "/api/v1/models/{name}/suspend",
    summary="Stop button: suspend serving",
    openapi_extra=_SECURED,
    responses=_json_answer("Stop button: suspend serving", _OBJECT),
)
async def suspend(name: str, request: Request) -> Response:
    """Suspend the serving of ``name`` with ``{"reason": ...}`` (approver or admin)."""
    state = serving_of(request)
    payload = await _json(request)
    reason = payload.get("reason", "") if isinstance(payload, dict) else ""
    done = state.suspend(name, reason, actor=_actor(request, state))
    return _response(done.model_dump(mode="json"))


@router.post(
    "/api/v1/models/{name}/resume",
    summary="Resume serving after a suspension",
    openapi_extra=_SECURED,
    responses=_json_answer("Resume serving after a suspension", _OBJECT),
)
async def resume(name: str, request: Request) -> Response:
    """Resume the serving of ``name`` (approver or admin), with an optional ``reason``."""
    state = serving_of(request)
    body = await request.body()
    payload = json.loads(body) if body.strip() else {}
    reason = payload.get("reason") if isinstance(payload, dict) else None
    done = state.resume(name, actor=_actor(request, state), reason=reason)
    return _response(done.model_dump(mode="json"))


@router.get(
    "/api/v1/inferences/{request_id}",
    summary="A served request, as logged",
    openapi_extra=_SECURED,
    responses=_json_answer("A served request, as logged", _OBJECT),
)
def inference(request_id: str, request: Request) -> Response:
    """The logged rows of a request: inputs, prediction, explanation, version, label."""
    state = serving_of(request)
    rows = state.lookup(request_id, actor=_actor(request, state))
    return _response({"request_id": request_id, "rows": rows})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Requests by outcome, latencies, log records written and dropped, monitoring verdicts."""
    from prometheus_client import CONTENT_TYPE_LATEST

    state = serving_of(request)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
