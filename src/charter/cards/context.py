"""Everything a card or a compliance report is written from, gathered once from the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from charter.evidence import Evidence
from charter.policy.schema import Policy
from charter.registry.lookup import stored_policy
from charter.registry.records import Actor, ModelVersion, RequestInfo, TransitionInfo


@dataclass(frozen=True)
class CardContext:
    """A version with its policy, evidence, promotion history, monitoring and audit state."""

    version: ModelVersion
    policy: Policy
    evidence: Evidence
    history: list[TransitionInfo] = field(default_factory=list)
    requests: list[RequestInfo] = field(default_factory=list)
    monitoring: list[Evidence] = field(default_factory=list)
    audit: dict[str, Any] | None = None

    @property
    def completed_requests(self) -> list[RequestInfo]:
        """Promotion requests of this version that went through, oldest first."""
        return [r for r in self.requests if r.status == "completed"]


#: The card builder's own actor: it verifies the audit trail a compliance report cites, which
#: the person asking for the report may not be allowed to read themselves.
CARDS = Actor.system("cards")


def gather(
    registry: Any, name: str, ref: str | int, *, actor: Actor, audit: bool = True
) -> CardContext:
    """Read a version, its evidence, policy, history and (optionally) the audit state.

    Parameters
    ----------
    registry
        A :class:`charter.registry.Registry`.
    name, ref
        The version (``ref``: number, stage, alias or ``latest``).
    actor
        Who asks: every read of the version is theirs (``version.read``). The audit trail is
        verified as :data:`CARDS`.
    audit
        Also verify the audit trail (compliance reports cite it).
    """
    version: ModelVersion = registry.get_version(name, ref, actor=actor)
    # Check ids are not validated again (a card can be written after a plugin is gone), but a
    # policy changed in the database behind Charter's back must not be written up as the real one.
    policy = stored_policy(version.policy, version.policy_sha256, version.ref, check_ids=False)
    evidence: Evidence = registry.evidence(name, version.number, actor=actor)
    history: list[TransitionInfo] = registry.history(name, version.number, actor=actor)
    requests: list[RequestInfo] = registry.version_requests(name, version.number, actor=actor)
    monitoring: list[Evidence] = registry.monitoring_evidence(name, version.number, actor=actor)
    audit_state = None
    if audit:
        audit_state = registry.verify_audit(actor=CARDS).to_dict()
    return CardContext(
        version=version,
        policy=policy,
        evidence=evidence,
        history=history,
        requests=requests,
        monitoring=monitoring,
        audit=audit_state,
    )
