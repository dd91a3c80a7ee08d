"""Reading the registry: versions, models, evidence, history, policies, requests, artifacts.

Every read is authorised for :attr:`~charter.registry.roles.Action.VERSION_READ` (a refusal is
audited) and runs in one read-only transaction. Stored evidence and policies are checked
against the digests recorded when they were stored before they are returned.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from charter.artifact_store import ArtifactStore
from charter.artifacts import load_model
from charter.evidence import Evidence
from charter.policy.schema import Policy
from charter.registry import listings, tables
from charter.registry.listings import ProductionSpell, VersionRow
from charter.registry.lookup import (
    current_evidence,
    find_version,
    model_row,
    parse_evidence,
    request_record,
    request_rows,
    version_policy,
    version_record,
)
from charter.registry.records import (
    Actor,
    ModelSummary,
    ModelVersion,
    RequestInfo,
    TransitionInfo,
)
from charter.registry.roles import Action
from charter.registry.store import Store

#: Loaded models kept by default (a fitted scikit-learn model is usually kilobytes to megabytes).
MODEL_CACHE_SIZE = 8


class ModelCache:
    """A bounded, thread-safe LRU of loaded models, keyed by artifact sha256 and trusted types.

    Parameters
    ----------
    size
        How many models to keep; 0 keeps none.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._models: OrderedDict[tuple[str, tuple[str, ...]], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, tuple[str, ...]], load: Callable[[], Any]) -> Any:
        """The model under ``key``, loaded with ``load`` (outside the lock) when not kept."""
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                self.hits += 1
                return self._models[key]
            self.misses += 1
        model = load()
        if self.size > 0:
            with self._lock:
                self._models[key] = model
                self._models.move_to_end(key)
                while len(self._models) > self.size:
                    self._models.popitem(last=False)
        return model

    def __len__(self) -> int:
        return len(self._models)


class Queries:
    """The read side of one registry.

    Parameters
    ----------
    store
        The registry's store.
    artifacts
        Where the registry keeps artifacts.
    cached_models
        How many loaded models :meth:`load_model` keeps (by artifact sha256); 0 keeps none.
    """

    def __init__(
        self, store: Store, artifacts: ArtifactStore, *, cached_models: int = MODEL_CACHE_SIZE
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.models = ModelCache(cached_models)

    def _allow(self, actor: Actor | None, subject: str, model: str | None = None) -> None:
        if actor is not None:
            self.store.require(actor, Action.VERSION_READ, subject, model=model)

    def get_version(self, name: str, ref: str | int = "latest", *, actor: Actor) -> ModelVersion:
        """One version of ``name``: ``ref`` is a number, a stage, an alias, or ``latest``."""
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            return version_record(session, find_version(session, name, ref), name)

    def version_info(self, version_id: int) -> ModelVersion:
        """A version by its row id, without authorization (after a write that had it)."""
        with self.store.read() as session:
            row = session.get(tables.Version, version_id)
            assert row is not None
            model = session.get(tables.RegisteredModel, row.model_id)
            assert model is not None
            return version_record(session, row, model.name)

    def list_versions(
        self,
        name: str,
        *,
        actor: Actor,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[ModelVersion]:
        """Every version of ``name``, oldest first.

        ``after`` and ``limit`` cut a page by keyset: numbers above ``after``, at most ``limit``.
        """
        self._allow(actor, f"model:{name}", name)
        with self.store.read() as session:
            model = model_row(session, name)
            query = (
                select(tables.Version)
                .where(tables.Version.model_id == model.id)
                .order_by(tables.Version.number)
            )
            if after is not None:
                query = query.where(tables.Version.number > after)
            if limit is not None:
                query = query.limit(limit)
            rows = session.scalars(query).all()
            return [version_record(session, r, name) for r in rows]

    def list_models(self, *, actor: Actor) -> list[ModelSummary]:
        """Every model with its version count, latest, production and staging versions."""
        self._allow(actor, "models")
        with self.store.read() as session:
            out = []
            for model in session.scalars(
                select(tables.RegisteredModel).order_by(tables.RegisteredModel.name)
            ):
                rows = session.execute(
                    select(tables.Version.number, tables.Version.stage).where(
                        tables.Version.model_id == model.id
                    )
                ).all()
                numbers = [int(r[0]) for r in rows]
                out.append(
                    ModelSummary(
                        name=model.name,
                        versions=len(numbers),
                        latest=max(numbers) if numbers else None,
                        production=next((int(r[0]) for r in rows if r[1] == "production"), None),
                        staging=sorted(int(r[0]) for r in rows if r[1] == "staging"),
                        created_at=model.created_at,
                        created_by=model.created_by,
                    )
                )
            return out

    def evidence(self, name: str, ref: str | int = "latest", *, actor: Actor) -> Evidence:
        """The current gate evidence of a version, checked against its stored digest."""
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            return current_evidence(session, find_version(session, name, ref), name)[0]

    def monitoring_evidence(
        self, name: str, ref: str | int = "latest", *, actor: Actor
    ) -> list[Evidence]:
        """Monitoring evidence recorded for a version, oldest first."""
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            row = find_version(session, name, ref)
            records = session.scalars(
                select(tables.EvidenceRecord)
                .where(
                    tables.EvidenceRecord.version_id == row.id,
                    tables.EvidenceRecord.kind == "monitoring",
                )
                .order_by(tables.EvidenceRecord.id)
            ).all()
            return [parse_evidence(r, f"{name}:{row.number}") for r in records]

    def history(self, name: str, ref: str | int, *, actor: Actor) -> list[TransitionInfo]:
        """The stage changes of a version, oldest first."""
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            row = find_version(session, name, ref)
            return [
                TransitionInfo(
                    from_stage=t.from_stage,
                    to_stage=t.to_stage,
                    actor=t.actor,
                    at=t.at,
                    request_id=t.request_id,
                )
                for t in session.scalars(
                    select(tables.StageTransition)
                    .where(tables.StageTransition.version_id == row.id)
                    .order_by(tables.StageTransition.id)
                )
            ]

    def reference_profile(
        self, name: str, version: str | int, *, actor: Actor
    ) -> dict[str, Any] | None:
        """The reference profile of the training data kept at registration, if any."""
        self._allow(actor, f"model:{name}/{version}", name)
        with self.store.read() as session:
            profile = find_version(session, name, version).reference_profile
            return dict(profile) if profile is not None else None

    def policy(self, name: str, ref: str | int, *, actor: Actor) -> Policy:
        """The policy a version is governed by, validated again and checked against its hash.

        Raises
        ------
        PolicyError
            The stored policy no longer validates, or no longer hashes to the sha256 recorded
            at registration (the database was changed outside Charter).
        """
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            return version_policy(find_version(session, name, ref), name)

    def download(self, name: str, ref: str | int, destination: str | Path, *, actor: Actor) -> Path:
        """Copy a version's artifact to ``destination`` (hash checked on the way)."""
        version = self.get_version(name, ref, actor=actor)
        target = Path(destination)
        if target.is_dir():
            target = target / f"{version.model}-{version.number}.{version.artifact_format}"
        return self.artifacts.fetch(version.artifact_sha256, target)

    def load_model(self, name: str, ref: str | int = "production", *, actor: Actor) -> Any:
        """Load a version's model: hash checked, skops types as recorded at registration.

        Loaded models are kept by artifact sha256 (and trusted types) in a bounded LRU cache:
        the same artifact loads once however many versions or aliases name it. Every call is
        authorised; the model returned may be shared with other callers, so do not change it.
        """
        version = self.get_version(name, ref, actor=actor)
        key = (version.artifact_sha256, tuple(version.trusted_types))
        return self.models.get(key, lambda: self._load(version))

    def _load(self, version: ModelVersion) -> Any:
        path = self.artifacts.fetch_temporary(
            version.artifact_sha256, suffix=f".{version.artifact_format}"
        )
        try:
            return load_model(
                path, trusted_types=version.trusted_types, sha256=version.artifact_sha256
            )
        finally:
            path.unlink(missing_ok=True)

    def get_request(self, request_id: int, *, actor: Actor) -> RequestInfo:
        """One promotion request with its approvals."""
        self._allow(actor, f"request:{request_id}")
        return self.request_info(request_id)

    def request_info(self, request_id: int) -> RequestInfo:
        """A request by id, without authorization (after a write that had it)."""
        with self.store.read() as session:
            request, version, name = request_rows(session, request_id)
            return request_record(session, request, version, name)

    def list_requests(
        self,
        *,
        actor: Actor,
        status: str | None = "pending",
        model: str | None = None,
    ) -> list[RequestInfo]:
        """Promotion requests (default: those waiting), oldest first."""
        self._allow(actor, "requests", model)
        with self.store.read() as session:
            query = (
                select(tables.PromotionRequest, tables.Version, tables.RegisteredModel.name)
                .join(tables.Version, tables.Version.id == tables.PromotionRequest.version_id)
                .join(tables.RegisteredModel, tables.RegisteredModel.id == tables.Version.model_id)
                .order_by(tables.PromotionRequest.id)
            )
            if status is not None:
                query = query.where(tables.PromotionRequest.status == status)
            if model is not None:
                query = query.where(tables.RegisteredModel.name == model)
            return [request_record(session, r, v, n) for r, v, n in session.execute(query).all()]

    # ------------------------------------------------------------------ listings (pages)
    def production_history(
        self, name: str, *, actor: Actor, limit: int | None = None
    ) -> list[ProductionSpell]:
        """Which version was live in production from when to when, newest first.

        Each :class:`~charter.registry.listings.ProductionSpell` names who requested and who
        approved the change that started it, and who ended it. ``limit``: the newest only.
        """
        self._allow(actor, f"model:{name}", name)
        with self.store.read() as session:
            return listings.production_history(session, model_row(session, name).id, limit=limit)

    def model_overview(self, name: str, *, actor: Actor) -> tuple[ModelSummary, int]:
        """One model's summary (as :meth:`list_models` gives it) and its production spells."""
        self._allow(actor, f"model:{name}", name)
        with self.store.read() as session:
            model = model_row(session, name)
            summary = listings.model_summary(session, model)
            return summary, listings.production_spells(session, model.id)

    def version_page(
        self, name: str, *, actor: Actor, before: int | None = None, limit: int = 50
    ) -> list[VersionRow]:
        """A page of ``name``'s versions, newest first, numbered below ``before``."""
        self._allow(actor, f"model:{name}", name)
        with self.store.read() as session:
            return listings.version_rows(
                session, model_row(session, name).id, before=before, limit=limit
            )

    def aliases(self, name: str, *, actor: Actor) -> dict[str, int]:
        """``name``'s aliases and the version number each points at."""
        self._allow(actor, f"model:{name}", name)
        with self.store.read() as session:
            return listings.model_aliases(session, model_row(session, name).id)

    def recent_decisions(self, *, actor: Actor, limit: int = 10) -> list[RequestInfo]:
        """The requests decided last (completed, rejected, refused, ...), newest first."""
        self._allow(actor, "requests")
        with self.store.read() as session:
            rows = session.execute(
                _requests()
                .where(tables.PromotionRequest.status != "pending")
                .order_by(
                    tables.PromotionRequest.decided_at.desc(), tables.PromotionRequest.id.desc()
                )
                .limit(listings.page_size(limit))
            ).all()
            return [request_record(session, r, v, n) for r, v, n in rows]

    def version_requests(self, name: str, ref: str | int, *, actor: Actor) -> list[RequestInfo]:
        """Every promotion request of one version, whatever its status, oldest first."""
        self._allow(actor, f"model:{name}/{ref}", name)
        with self.store.read() as session:
            version = find_version(session, name, ref)
            rows = session.execute(
                _requests()
                .where(tables.PromotionRequest.version_id == version.id)
                .order_by(tables.PromotionRequest.id)
            ).all()
            return [request_record(session, r, v, n) for r, v, n in rows]


def _requests() -> Any:
    """Requests joined to their version and model name (unordered)."""
    return (
        select(tables.PromotionRequest, tables.Version, tables.RegisteredModel.name)
        .join(tables.Version, tables.Version.id == tables.PromotionRequest.version_id)
        .join(tables.RegisteredModel, tables.RegisteredModel.id == tables.Version.model_id)
    )
