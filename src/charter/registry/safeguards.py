"""What keeps one insider, acting within their role, from getting around the governance.

The registry's other concerns do what each role may do; this one holds the settings an admin
keeps *above* the policies that registrants write, and the checks that use them:

* **trusted keys** (``key.trust``): Ed25519 public keys whose signatures make evidence
  verified (:mod:`charter.registry.verification`);
* **approval floors** (``model.approval_floor``): the fewest approvals a model's promotion to
  production needs, whatever a version's policy says;
* **the monitoring allow-list** (``monitoring.allow``): what registered policies' monitoring
  may run, write or post to (:mod:`charter.monitor.allowlist`);
* **checkpoints** (``audit.checkpoint``): the auditor's signed statement of the audit head;
* **failed authentication**, audited at a bounded rate (:mod:`charter.registry.auth_failures`).

:func:`promotion_terms` is what a promotion request needs, computed from all of them: the
strictest approvals of the new policy, the replaced production version's policy and the floor;
the policy's loosenings relative to production; and whether the evidence must be verified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.artifact_store import ArtifactStore
from charter.audit.chain import ChainWriter, require_key
from charter.errors import CharterError, ConflictError, NotFoundError
from charter.evidence import Evidence
from charter.monitor.allowlist import ActionAllowList
from charter.policy.schema import Policy
from charter.registry import auth_failures, tables
from charter.registry.lookup import model_row, version_policy
from charter.registry.names import check_text, terminal_safe
from charter.registry.promotion import (
    leaving_production_approvals,
    policy_changes,
    requires_verified_evidence,
    strictest_approvals,
)
from charter.registry.records import Actor
from charter.registry.roles import Action
from charter.registry.store import Store
from charter.registry.tables import utcnow
from charter.registry.verification import (
    RERUN,
    check_rerun_data,
    describe,
    differences_error,
    require_signature,
    rerun_differences,
    signature_verification,
    trusted_public_keys,
    verification_problem,
)
from charter.signing import key_id, load_public_key, read_envelope

ALLOWLIST_KEY = "monitoring_allowlist"
#: Characters of a failed token kept in its audit entry (``charter_`` and a few more).
TOKEN_SHOWN = 12
#: Most approvals a floor may ask for: beyond it no team could promote anything.
MAX_FLOOR = 10


@dataclass(frozen=True)
class PromotionTerms:
    """What a promotion (or a step out of production) of one version needs.

    Attributes
    ----------
    kind
        ``promotion``, ``demotion`` (out of production) or ``rollback``.
    needed
        Approvals, or ``None``: never (an unacceptable tier).
    changes
        How the version's policy is looser than production's (shown to approvers).
    problems
        What stands in the way besides the evidence's findings (unverified evidence).
    verified
        How the evidence was verified, for the record.
    """

    kind: str
    needed: int | None
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    verified: str | None = None


def production_version(session: Session, model_id: int) -> tables.Version | None:
    """The model's version in production, if any."""
    return session.scalar(
        select(tables.Version).where(
            tables.Version.model_id == model_id, tables.Version.stage == "production"
        )
    )


def trusted_keys_in(session: Session) -> dict[str, Any]:
    """``{keyid: public key}`` of the keys trusted now."""
    rows = session.execute(
        select(tables.TrustedKey.keyid, tables.TrustedKey.public_pem).where(
            tables.TrustedKey.revoked_at.is_(None)
        )
    ).all()
    return trusted_public_keys((str(k), str(p)) for k, p in rows)


def evidence_verification(
    session: Session, record: tables.EvidenceRecord, bundle: Evidence
) -> str | None:
    """How ``record`` is verified now: ``rerun``, ``signed:<keyid>`` (a trusted key), or None."""
    if record.verified == "rerun":
        return record.verified
    return signature_verification(record.signature, bundle, trusted_keys_in(session))


def promotion_terms(
    session: Session,
    version: tables.Version,
    name: str,
    policy: Policy,
    to_stage: str,
    *,
    kind: str = "promotion",
) -> PromotionTerms:
    """The approvals, policy changes and verification a move of ``version`` needs."""
    model = session.get(tables.RegisteredModel, version.model_id)
    floor = model.approval_floor if model is not None else None
    current = production_version(session, version.model_id)
    production_policy = (
        version_policy(current, name) if current is not None and current.id != version.id else None
    )
    if version.stage == "production" and to_stage != "production":
        return PromotionTerms(kind="demotion", needed=leaving_production_approvals(policy, floor))
    needed = strictest_approvals(policy, to_stage, production_policy=production_policy, floor=floor)
    changes = (
        policy_changes(production_policy, policy)
        if production_policy is not None and to_stage == "production"
        else []
    )
    problems: list[str] = []
    verified: str | None = None
    if to_stage == "production":
        record = session.get(tables.EvidenceRecord, version.evidence_id or -1)
        if record is not None:
            from charter.registry.lookup import parse_evidence

            verified = evidence_verification(session, record, parse_evidence(record, name))
        strict = requires_verified_evidence(policy) or (
            production_policy is not None and requires_verified_evidence(production_policy)
        )
        if strict:
            problem = verification_problem(verified, tier=policy.model.risk_tier.value)
            if problem is not None:
                problems.append(problem)
    return PromotionTerms(kind, needed, changes, problems, verified)


def leaving_message(name: str, number: int, to_stage: str) -> str:
    """What a step out of production says: plainly, that nothing serves the model now."""
    return (
        f"{name}:{number} left production for {to_stage}: {name} now has NO production version"
        f" (`charter rollback {name}` asks to put the previous one back)"
    )


class Safeguards:
    """The admin's settings above the policies, and the auditor's checkpoints.

    Parameters
    ----------
    store
        The registry's store.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # -------------------------------------------------------------- trusted keys
    def trust_key(self, name: str, public_pem: str, *, actor: Actor) -> str:
        """Trust an Ed25519 public key to sign evidence; returns its key id."""
        check_text(name, what="key name", limit=128)
        key = load_public_key(public_pem)
        keyid = key_id(key)
        with self.store.write(actor, Action.KEY_TRUST, f"key:{keyid}") as tx:
            row = tx.session.get(tables.TrustedKey, keyid)
            if row is not None and row.revoked_at is None:
                raise ConflictError(f"key {keyid[:12]}… is already trusted (as {row.name})")
            if row is not None:
                raise ConflictError(
                    f"key {keyid[:12]}… was revoked on {row.revoked_at:%Y-%m-%d}; a revoked key"
                    " is never trusted again",
                    hint="generate a new key pair (`charter keys generate`) and trust that",
                )
            tx.session.add(
                tables.TrustedKey(
                    keyid=keyid, name=name, public_pem=public_pem.strip(), added_by=actor.username
                )
            )
            tx.audit("key.trust", f"key:{keyid}", details={"keyid": keyid, "name": name})
        return keyid

    def untrust_key(self, keyid: str, *, actor: Actor) -> None:
        """Revoke a key: evidence it signed is no longer verified (the row stays)."""
        with self.store.write(actor, Action.KEY_TRUST, f"key:{keyid}") as tx:
            row = tx.session.get(tables.TrustedKey, keyid)
            if row is None:
                raise NotFoundError(
                    f"no trusted key {keyid}", hint="`charter keys list` shows the key ids"
                )
            if row.revoked_at is not None:
                raise ConflictError(f"key {keyid[:12]}… is already revoked")
            row.revoked_at, row.revoked_by = utcnow(), actor.username
            tx.audit("key.untrust", f"key:{keyid}", details={"keyid": keyid, "name": row.name})

    def trusted_keys(self, *, actor: Actor) -> list[dict[str, Any]]:
        """Every key ever trusted, revoked ones included."""
        self.store.require(actor, Action.VERSION_READ, "keys")
        with self.store.read() as session:
            rows = session.scalars(select(tables.TrustedKey).order_by(tables.TrustedKey.added_at))
            return [
                {
                    "keyid": r.keyid,
                    "name": r.name,
                    "added_by": r.added_by,
                    "added_at": r.added_at,
                    "revoked_by": r.revoked_by,
                    "revoked_at": r.revoked_at,
                }
                for r in rows
            ]

    # -------------------------------------------------------------- approval floor
    def set_approval_floor(self, name: str, floor: int | None, *, actor: Actor) -> None:
        """Set (or with ``None`` remove) the fewest approvals ``name`` needs for production."""
        if floor is not None and not 0 <= floor <= MAX_FLOOR:
            raise CharterError(
                f"an approval floor of {floor} is not possible",
                hint=f"give a number from 0 to {MAX_FLOOR}",
            )
        with self.store.write(actor, Action.APPROVAL_FLOOR, f"model:{name}", model=name) as tx:
            model = model_row(tx.session, name)
            before = model.approval_floor
            model.approval_floor = floor
            tx.audit(
                "model.approval_floor",
                f"model:{name}",
                model=name,
                details={"from": before, "to": floor},
            )

    # -------------------------------------------------------------- monitoring allow-list
    def monitoring_allowlist(self, *, actor: Actor | None) -> ActionAllowList:
        """What registered policies' monitoring may run, write or post to."""
        if actor is not None:
            self.store.require(actor, Action.VERSION_READ, "monitoring")
        with self.store.read() as session:
            row = session.get(tables.Meta, ALLOWLIST_KEY)
            return ActionAllowList.from_json(row.value if row is not None else None)

    def set_monitoring_allowlist(self, allow: ActionAllowList, *, actor: Actor) -> None:
        """Replace the allow-list (audited with the old and new lists)."""
        for command in allow.commands:
            check_text(command, what="command", limit=2000)
        with self.store.write(actor, Action.MONITORING_ALLOW, "monitoring") as tx:
            row = tx.session.get(tables.Meta, ALLOWLIST_KEY)
            before = ActionAllowList.from_json(row.value if row is not None else None)
            text = json.dumps(allow.to_dict(), sort_keys=True)
            if row is None:
                tx.session.add(tables.Meta(key=ALLOWLIST_KEY, value=text))
            else:
                row.value = text
            tx.audit(
                "monitoring.allow",
                "monitoring",
                details={"from": before.to_dict(), "to": allow.to_dict()},
            )

    # -------------------------------------------------------------- checkpoints
    def checkpoint(
        self, key: Ed25519PrivateKey, *, actor: Actor, on_batch: Any = None
    ) -> dict[str, Any]:
        """Verify the chain and sign its head; the checkpoint itself is audited."""
        from charter.audit.checkpoint import make_checkpoint
        from charter.audit.verify import verify_chain

        self.store.require(actor, Action.AUDIT_CHECKPOINT, "audit")
        report = verify_chain(
            self.store.engine, key=require_key(self.store.audit_alg), on_batch=on_batch
        )
        envelope = make_checkpoint(report, self.store.audit_alg, key)
        with self.store.write(actor, Action.AUDIT_CHECKPOINT, "audit") as tx:
            tx.audit(
                "audit.checkpoint",
                "audit",
                details={
                    "seq": report.head_seq,
                    "hash": report.head_hash,
                    "keyid": envelope["signatures"][0]["keyid"],
                },
            )
        return envelope

    # -------------------------------------------------------------- re-run
    def verify_evidence(
        self,
        name: str,
        ref: str | int,
        data: str | Path,
        *,
        actor: Actor,
        artifacts: ArtifactStore,
        target: str | None = None,
    ) -> int:
        """Re-run the gate on ``data`` and mark the version's evidence verified when it matches.

        The data must be the file the gate read (same sha256 as the evidence's data
        fingerprint); the gate runs with the version's stored policy and its stored artifact
        (hash checked, the skops types recorded at registration). Returns the version's id.

        Raises
        ------
        CharterError
            Other data, or findings that the re-run does not reproduce (nothing is stored).
        """
        from charter.gate import check
        from charter.registry.lookup import find_version, parse_evidence

        subject = f"model:{name}/{ref}"
        self.store.require(actor, Action.EVIDENCE_VERIFY, subject, model=name)
        source = Path(data)
        with self.store.read() as session:
            version = find_version(session, name, ref)
            record = session.get(tables.EvidenceRecord, version.evidence_id or -1)
            if record is None:
                raise NotFoundError(f"{name}:{version.number} has no gate evidence to verify")
            bundle = parse_evidence(record, f"{name}:{version.number}")
            policy = version_policy(version, name)
            digest, number = record.digest, version.number
            artifact_sha, artifact_format = version.artifact_sha256, version.artifact_format
            trusted = list(version.trusted_types or [])
        check_rerun_data(bundle, source)
        run = bundle.extras.get("run") or {}
        model_path = artifacts.fetch_temporary(artifact_sha, suffix=f".{artifact_format}")
        try:
            rerun = check(
                policy,
                source,
                model=model_path,
                target=target or run.get("target"),
                predictions=run.get("prediction_column"),
                scores=run.get("score_column"),
                stage=bundle.stage,
                sha256=artifact_sha,
                trusted_types=trusted,
                progress=False,
            )
        finally:
            model_path.unlink(missing_ok=True)
        problems = rerun_differences(bundle, rerun)
        if problems:
            raise differences_error(problems)
        with self.store.write(actor, Action.EVIDENCE_VERIFY, subject, model=name) as tx:
            row = tx.session.get(tables.EvidenceRecord, record.id)
            assert row is not None
            if row.digest != digest:
                raise ConflictError(
                    f"the evidence of {name}:{number} changed while it was being verified",
                    hint="verify again",
                )
            row.verified = RERUN
            tx.audit(
                "evidence.verify",
                f"model:{name}/{number}",
                model=name,
                details={
                    "version": number,
                    "evidence_digest": digest,
                    "data_sha256": bundle.inputs["data"].sha256,
                    "rules": len(rerun.findings),
                    "how": RERUN,
                },
            )
            return int(row.version_id)


def signed_evidence(
    store: Store, evidence: str | Path | Evidence, bundle: Evidence
) -> tuple[str | None, str | None]:
    """``(verified, envelope JSON)`` of evidence offered with a signature beside it.

    ``(None, None)`` without a signature. A signature that does not verify under a trusted key
    refuses the evidence (:class:`~charter.signing.SignatureError`): it was edited after signing
    or signed by a key nobody trusts.
    """
    if isinstance(evidence, Evidence):
        return None, None
    envelope = read_envelope(evidence)
    if envelope is None:
        return None, None
    with store.read() as session:
        trusted = trusted_keys_in(session)
    return require_signature(envelope, bundle, trusted), json.dumps(envelope, sort_keys=True)


def rollback_target(session: Session, model_id: int, name: str) -> tables.Version:
    """The version that was in production before the current one (or before production ended)."""
    current = production_version(session, model_id)
    row = session.execute(
        select(tables.Version)
        .join(tables.StageTransition, tables.StageTransition.version_id == tables.Version.id)
        .where(
            tables.Version.model_id == model_id,
            tables.StageTransition.from_stage == "production",
            tables.Version.stage != "production",
        )
        .order_by(tables.StageTransition.at.desc(), tables.StageTransition.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ConflictError(
            f"{name} has no earlier production version to roll back to",
            hint="promote a version with `charter promote NAME:VERSION --to production`",
        )
    target: tables.Version = row[0]
    if current is not None and current.id == target.id:  # pragma: no cover - excluded above
        raise ConflictError(f"{name}:{target.number} is already in production")
    return target


def audit_failed_authentication(
    store: Store, reason: str, *, token: str | None, username: str | None = None
) -> None:
    """Audit one failed authentication, within the rate limit (nobody known: ``anonymous``).

    Only the token's first characters are kept (:data:`TOKEN_SHOWN`), never the token.
    """
    key = require_key(store.audit_alg)
    with Session(store.engine) as session, session.begin():
        chain = ChainWriter(session.connection(), alg=store.audit_alg, key=key)
        row = session.get(tables.Meta, auth_failures.STATE_KEY)
        state = auth_failures.FailureWindow.from_json(row.value if row is not None else None)
        admission = auth_failures.admit(state, utcnow())
        if row is None:
            session.add(tables.Meta(key=auth_failures.STATE_KEY, value=admission.state.to_json()))
        else:
            row.value = admission.state.to_json()
        if admission.log:
            details: dict[str, object] = {"reason": reason, **admission.details}
            if token:
                details["token_prefix"] = terminal_safe(token.strip()[:TOKEN_SHOWN])
            chain.append(
                actor=username or "anonymous",
                action="auth.failed",
                subject=f"user:{username}" if username else "authentication",
                details=details,
            )


def described(terms: PromotionTerms) -> Mapping[str, Any]:
    """The facts of ``terms`` an audit entry records."""
    return {
        "kind": terms.kind,
        "policy_changes": terms.changes,
        "evidence_verified": describe(terms.verified),
    }
