"""Versions loaded for serving, and which one answers for each model right now.

:class:`LoadedVersion` is one registered version ready to serve: its model loaded through the
registry's safe loader (the artifact's sha256 checked, skops types as recorded at
registration), its :class:`~charter.serving.schema.InputSchema` and its
:class:`~charter.serving.explainers.Explainer`, built once. :meth:`LoadedVersion.predict`
serves one request: validate, predict, explain, time it.

:class:`ServedModels` maps ``(model, stage or alias or number)`` to the loaded version that
answers. Loaded versions are cached by artifact sha256 (two versions of the same file load
once). A background thread looks every ``refresh_interval`` seconds (or at once after
:meth:`ServedModels.notify`) at which version each served reference points to, loads a new one
*before* swapping, and swaps by one assignment: a request holds the version it started with and
finishes on it, the next request gets the new one. A promotion or rollback is picked up within
about a second, without a restart and without failing a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from charter.errors import CharterError
from charter.registry.records import Actor
from charter.serving.explainers import Explainer, Outputs, build_explainer, top_contributions_rows
from charter.serving.log import LogColumns, ServedRows, explanation_json, now
from charter.serving.payload import Batch
from charter.serving.schema import InputSchema

if TYPE_CHECKING:
    from charter.registry import Registry

logger = logging.getLogger("charter.serving")

#: Who reads the registry for the server: a read-only system actor (the HTTP route checked
#: the caller's own permission to predict before asking).
SERVING_ACTOR = Actor.system("serving")


@dataclass(frozen=True)
class Prediction:
    """One served request: the answer, its explanations and what the log keeps."""

    version: LoadedVersion
    outputs: Outputs
    explanations: list[dict[str, Any]] | None
    inputs: dict[str, Any]
    latency_ms: float
    explain_ms: float

    def response(self, request_id: str) -> dict[str, Any]:
        """The JSON body of the predict route."""
        v = self.version
        body: dict[str, Any] = {
            "request_id": request_id,
            "model": {"name": v.name, "version": v.number, "sha256": v.sha256},
            "predictions": self.outputs.predictions,
            "scores": None if self.outputs.scores is None else self.outputs.scores.tolist(),
        }
        if self.explanations is not None:
            body["explanations"] = self.explanations
        return body

    def served_rows(self, request_id: str, caller: str, *, top_in_log: int | None) -> ServedRows:
        """The log's records of this request."""
        v, out = self.version, self.outputs
        logged = None
        if out.contributions is not None and out.base is not None:
            space, method = v.explainer.output_space, v.explainer.method
            kept = top_contributions_rows(v.explainer.features, out.contributions, top_in_log)
            logged = [
                explanation_json(base, space, method, contributions)
                for base, contributions in zip(out.base.tolist(), kept, strict=True)
            ]
        return ServedRows(
            model=v.name,
            version=v.number,
            sha256=v.sha256,
            request_id=request_id,
            caller=caller,
            at=now(),
            inputs=self.inputs,
            predictions=out.predictions,
            scores=None if out.scores is None else out.scores,
            explanations=logged,
            latency_ms=self.latency_ms,
            names=v.log_columns,
        )


@dataclass
class LoadedVersion:
    """A registered version ready to serve."""

    name: str
    number: int
    sha256: str
    model: Any
    schema: InputSchema
    explainer: Explainer
    log_columns: LogColumns = field(default_factory=LogColumns)
    target: str = "label"
    schedule: str | None = None
    """The policy's ``monitoring.schedule`` (cron), if the server should monitor the version."""

    def predict(self, batch: Batch, *, explain: bool = True, top: int | None = None) -> Prediction:
        """Validate, predict and (when asked) explain the rows of one request.

        Raises
        ------
        InvalidInputError
            A row that does not fit the schema (nothing is predicted).
        """
        start = time.perf_counter()
        columns, extra = self.schema.validate(batch)
        outputs = self.explainer.outputs(columns, explain=explain)
        explained = time.perf_counter()
        explanations = None
        if explain and outputs.contributions is not None and outputs.base is not None:
            space = self.explainer.output_space
            kept = top_contributions_rows(self.explainer.features, outputs.contributions, top)
            explanations = [
                {"base_value": base, "output_space": space, "contributions": contributions}
                for base, contributions in zip(outputs.base.tolist(), kept, strict=True)
            ]
        elapsed = (time.perf_counter() - start) * 1000.0
        return Prediction(
            version=self,
            outputs=outputs,
            explanations=explanations,
            inputs={**columns, **extra},
            latency_ms=elapsed,
            explain_ms=(explained - start) * 1000.0 if explain else 0.0,
        )

    def describe(self) -> dict[str, Any]:
        """What the API shows about the loaded version."""
        return {
            "name": self.name,
            "version": self.number,
            "sha256": self.sha256,
            "inputs": self.schema.to_dict(),
            "explainer": self.explainer.describe(),
        }


def load_version(registry: Registry, name: str, number: int) -> LoadedVersion:
    """Load a version through the registry's safe loader and build its explainer and schema.

    The registry is read by :data:`SERVING_ACTOR`, a read-only system actor: the door (the
    HTTP route) checked the caller's permission to predict before asking.
    """
    from charter.monitor.rules import model_output_columns
    from charter.stats.profile import DataProfile

    version = registry.get_version(name, number, actor=SERVING_ACTOR)
    model = registry.load_model(name, number, actor=SERVING_ACTOR)
    profile = registry.reference_profile(name, number, actor=SERVING_ACTOR)
    policy = registry.policy(name, number, actor=SERVING_ACTOR)
    schema = InputSchema.for_version(model, profile)
    background = background_sample(profile, schema) if profile else None
    explainer = build_explainer(
        model,
        schema.names,
        background=background,
        positive_label=policy.data.positive_label,
        seed=policy.explainability.seed,
    )
    reference = DataProfile.from_dict(profile) if profile else None
    prediction, score = model_output_columns(policy, reference)
    columns = LogColumns(
        timestamp=policy.monitoring.timestamp_column or policy.data.timestamp_column or "timestamp",
        prediction=prediction or "prediction",
        score=score or "score",
    )
    return LoadedVersion(
        name=name,
        number=version.number,
        sha256=version.artifact_sha256,
        model=model,
        schema=schema,
        explainer=explainer,
        log_columns=columns,
        target=policy.data.target or "label",
        schedule=policy.monitoring.schedule,
    )


def background_sample(
    profile: Mapping[str, Any], schema: InputSchema, rows: int = 100, seed: int = 0
) -> dict[str, np.ndarray] | None:
    """A seeded sample of input rows drawn from the reference profile's marginals.

    Numeric columns draw a cell of the training histogram by its count and take the cell's
    mean; categorical ones draw a category by its count. ``None`` when the profile lacks an
    input column.
    """
    from charter.stats.profile import DataProfile

    parsed = DataProfile.from_dict(profile)
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in schema.fields:
        if spec.name not in parsed:
            return None
        column = parsed[spec.name]
        if column.numeric is not None and column.numeric.counts.sum() > 0:
            counts = column.numeric.counts.astype(np.float64)
            cells = rng.choice(len(counts), size=rows, p=counts / counts.sum())
            means = np.divide(
                column.numeric.sums,
                column.numeric.counts,
                out=np.zeros_like(column.numeric.sums),
                where=column.numeric.counts > 0,
            )
            out[spec.name] = means[cells]
        elif column.categories is not None and column.categories.count > 0:
            counts = column.categories.counts.astype(np.float64)
            picks = rng.choice(len(counts), size=rows, p=counts / counts.sum())
            values = np.empty(rows, dtype=object)
            values[:] = [column.categories.values[int(i)] for i in picks]
            out[spec.name] = values if spec.kind == "category" else values.astype(np.float64)
        else:
            return None
    return out


class ServedModels:
    """Which loaded version answers for each served reference, kept fresh in the background.

    Parameters
    ----------
    registry
        The registry the versions come from.
    refresh_interval
        Seconds between looks at the registry (a promotion is served within about this long).
    """

    def __init__(self, registry: Registry, *, refresh_interval: float = 1.0) -> None:
        self.registry = registry
        self.refresh_interval = refresh_interval
        self._by_sha: dict[str, LoadedVersion] = {}
        self._current: dict[tuple[str, str], LoadedVersion] = {}
        self._load_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.swaps = 0

    def get(self, name: str, ref: str | int = "production") -> LoadedVersion:
        """The version answering for ``name`` at ``ref`` (loaded on first use).

        Raises
        ------
        NotFoundError
            No such model, or no version at ``ref``.
        """
        key = (name, str(ref))
        loaded = self._current.get(key)
        if loaded is not None:
            return loaded
        loaded = self._resolve(name, ref)
        self._current[key] = loaded
        return loaded

    def loaded(self) -> list[LoadedVersion]:
        """The versions currently answering."""
        return list(self._current.values())

    def _resolve(self, name: str, ref: str | int) -> LoadedVersion:
        version = self.registry.get_version(name, ref, actor=SERVING_ACTOR)
        cached = self._by_sha.get(version.artifact_sha256)
        if cached is not None and cached.name == name and cached.number == version.number:
            return cached
        with self._load_lock:
            cached = self._by_sha.get(version.artifact_sha256)
            if cached is not None and cached.name == name and cached.number == version.number:
                return cached
            loaded = load_version(self.registry, name, version.number)
            self._by_sha[loaded.sha256] = loaded
            return loaded

    def refresh(self) -> int:
        """Look up every served reference now and swap those that moved; returns the swaps."""
        swapped = 0
        for key, current in list(self._current.items()):
            name, ref = key
            try:
                fresh = self._resolve(name, ref)
            except CharterError as exc:
                logger.warning("keeping %s:%s on version %s: %s", name, ref, current.number, exc)
                continue
            if fresh is not current:
                self._current[key] = fresh  # one assignment: in-flight requests keep theirs
                swapped += 1
                logger.info(
                    "%s:%s now served by version %s (was %s)",
                    name,
                    ref,
                    fresh.number,
                    current.number,
                )
        in_use = {id(v) for v in self._current.values()}
        for sha, version in list(self._by_sha.items()):
            if id(version) not in in_use:
                del self._by_sha[sha]
        self.swaps += swapped
        return swapped

    def notify(self) -> None:
        """Look at the registry now (after a promotion in this process, say)."""
        self._wake.set()

    def start(self) -> ServedModels:
        """Start the background refresh."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="charter-refresh", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.refresh_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception:  # never let the refresh thread die
                logger.exception("refreshing the served versions failed")
