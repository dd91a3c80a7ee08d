"""The registry facade's doors onto the audit trail and the integrity safeguards.

:class:`Oversight` holds the public methods of :class:`~charter.registry.Registry` that read,
export, verify and checkpoint the audit trail (:mod:`~charter.registry.trail`) and that manage
what makes evidence and promotions trustworthy (:mod:`~charter.registry.safeguards`): trusted
keys, per-model approval floors, the monitoring allow-list and the registry's own re-run of
the gate. It only delegates; authorization and audit happen in those modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from charter.artifact_store import ArtifactStore
from charter.audit.chain import AuditEntry
from charter.audit.verify import ChainReport
from charter.monitor.allowlist import ActionAllowList
from charter.registry.queries import Queries
from charter.registry.records import Actor, ModelVersion
from charter.registry.safeguards import Safeguards
from charter.registry.trail import Trail


class Oversight:
    """The audit trail's and the safeguards' methods of :class:`~charter.registry.Registry`."""

    trail: Trail
    safeguards: Safeguards
    queries: Queries
    artifacts: ArtifactStore

    def audit_log(
        self,
        *,
        actor: Actor,
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        subject: str | None = None,
        request_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
        descending: bool = False,
    ) -> list[AuditEntry]:
        """Audit entries matching the filters, in sequence order (role auditor or admin).

        ``subject`` and ``request_id`` filter further, ``after``/``before`` bound the sequence
        numbers (a page's keyset), ``descending`` lists newest first.
        """
        return self.trail.audit_log(
            actor=actor,
            model=model,
            user=user,
            action=action,
            since=since,
            until=until,
            limit=limit,
            subject=subject,
            request_id=request_id,
            after=after,
            before=before,
            descending=descending,
        )

    def stream_audit(
        self,
        *,
        actor: Actor,
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int | None = None,
        subject: str | None = None,
        request_id: str | None = None,
    ) -> Iterator[AuditEntry]:
        """Matching entries as an iterator read in batches (to stream an export of any size).

        Format them with :func:`charter.audit.log.export_lines`.
        """
        return self.trail.stream_audit(
            actor=actor,
            model=model,
            user=user,
            action=action,
            since=since,
            until=until,
            limit=limit,
            subject=subject,
            request_id=request_id,
        )

    def export_audit(
        self,
        out: TextIO,
        *,
        actor: Actor,
        fmt: str = "jsonl",
        model: str | None = None,
        user: str | None = None,
        action: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        subject: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Write matching entries as JSON lines or CSV to ``out``; returns how many."""
        return self.trail.export_audit(
            out,
            actor=actor,
            fmt=fmt,
            model=model,
            user=user,
            action=action,
            since=since,
            until=until,
            subject=subject,
            request_id=request_id,
        )

    def verify_audit(self, *, actor: Actor, on_batch: Any = None) -> ChainReport:
        """Verify the whole audit trail; returns a :class:`~charter.audit.verify.ChainReport`."""
        return self.trail.verify_audit(actor=actor, on_batch=on_batch)

    # ------------------------------------------------------------------ safeguards
    def trust_key(self, name: str, public_pem: str, *, actor: Actor) -> str:
        """Trust an Ed25519 public key to sign evidence (admin); returns its key id."""
        return self.safeguards.trust_key(name, public_pem, actor=actor)

    def untrust_key(self, keyid: str, *, actor: Actor) -> None:
        """Stop trusting a key (admin): evidence it signed is no longer verified."""
        self.safeguards.untrust_key(keyid, actor=actor)

    def trusted_keys(self, *, actor: Actor) -> list[dict[str, Any]]:
        """Every key ever trusted, revoked ones included."""
        return self.safeguards.trusted_keys(actor=actor)

    def set_approval_floor(self, name: str, floor: int | None, *, actor: Actor) -> None:
        """Set the fewest approvals ``name`` needs for production (admin; ``None`` removes it)."""
        self.safeguards.set_approval_floor(name, floor, actor=actor)

    def monitoring_allowlist(self, *, actor: Actor) -> ActionAllowList:
        """What registered policies' monitoring may run, write or post to."""
        return self.safeguards.monitoring_allowlist(actor=actor)

    def set_monitoring_allowlist(self, allow: ActionAllowList, *, actor: Actor) -> None:
        """Replace the monitoring allow-list (admin, audited)."""
        self.safeguards.set_monitoring_allowlist(allow, actor=actor)

    def verify_evidence(
        self,
        name: str,
        ref: str | int,
        data: str | Path,
        *,
        actor: Actor,
        target: str | None = None,
    ) -> ModelVersion:
        """Re-run the gate on ``data`` and mark the version's evidence verified if it matches."""
        version_id = self.safeguards.verify_evidence(
            name, ref, data, actor=actor, artifacts=self.artifacts, target=target
        )
        return self.queries.version_info(version_id)

    def checkpoint_audit(
        self, key: Ed25519PrivateKey, *, actor: Actor, on_batch: Any = None
    ) -> dict[str, Any]:
        """Verify the chain and sign its head (auditor); the checkpoint is audited."""
        return self.safeguards.checkpoint(key, actor=actor, on_batch=on_batch)
