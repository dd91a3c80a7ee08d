"""Whether the registry can vouch for a version's evidence, and how.

Evidence arrives as a file its bearer could have edited. :mod:`charter.registry.promotion`
already recomputes every verdict from the policy's bounds; what it cannot check is a *value*.
Evidence is **verified** when one of these holds:

``signed:<keyid>``
    it came with a DSSE envelope (``evidence.dsse.json``, written by ``charter check --sign``)
    whose Ed25519 signature over the evidence digest verifies under a key an admin trusts —
    typically the CI's. Checked again at promotion, so revoking a key un-verifies its evidence.
``rerun``
    the registry ran the gate itself — the stored policy, the stored artifact, and evaluation
    data whose sha256 equals the evidence's data fingerprint — and found the same findings.

A policy at the ``high`` tier (or any policy with ``approvals.verified_evidence: true``) is
promoted only on verified evidence (:func:`charter.registry.promotion.requires_verified_evidence`).

This module also binds evidence to what it judged: a model is registered only with evidence
that fingerprints that very artifact (:func:`binding_problem`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from charter.errors import CharterError
from charter.evidence import Evidence, Finding, sha256_file
from charter.signing import SignatureError, load_public_key, verify_evidence_signature

RERUN = "rerun"
SIGNED_PREFIX = "signed:"
#: Values of a re-run must equal the submitted ones to this relative tolerance (float noise).
VALUE_TOLERANCE = 1e-9


def binding_problem(evidence: Evidence, artifact_sha256: str, artifact: str) -> str | None:
    """Why ``evidence`` does not vouch for the artifact with ``artifact_sha256`` (None: it does).

    Evidence without a model fingerprint (a run on predictions only) judged a predictions file,
    not a model: it fits no artifact.
    """
    fingerprint = evidence.inputs.get("model")
    if fingerprint is None:
        judged = evidence.inputs.get("predictions")
        what = (
            f"the predictions in {judged.path} (sha256 {judged.sha256[:12]}…)"
            if judged is not None
            else "predictions, not a model"
        )
        return (
            f"the evidence judged {what}: it has no model fingerprint, so it cannot vouch for"
            f" {artifact}"
        )
    if fingerprint.sha256 != artifact_sha256:
        return (
            f"the evidence was produced for a different model artifact (sha256"
            f" {fingerprint.sha256[:12]}…), not {artifact} ({artifact_sha256[:12]}…)"
        )
    return None


def trusted_public_keys(rows: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``{keyid: public key}`` of ``(keyid, public PEM)`` rows of trusted, unrevoked keys."""
    return {keyid: load_public_key(pem) for keyid, pem in rows}


def signature_verification(
    envelope_text: str | None, evidence: Evidence, trusted: Mapping[str, Any]
) -> str | None:
    """``signed:<keyid>`` when the stored envelope verifies under a trusted key, else ``None``."""
    if not envelope_text or not trusted:
        return None
    try:
        envelope = json.loads(envelope_text)
        keyid = verify_evidence_signature(envelope, evidence, trusted)
    except (SignatureError, ValueError):
        return None
    return SIGNED_PREFIX + keyid


def require_signature(
    envelope: Mapping[str, Any], evidence: Evidence, trusted: Mapping[str, Any]
) -> str | None:
    """``signed:<keyid>`` for evidence signed by a trusted key; ``None`` for an unknown key.

    Evidence signed by keys the registry does not trust is simply not verified (someone's own
    key vouches for nothing here). But a signature by a trusted key that does not verify means
    the evidence was changed after the CI signed it: that is refused outright, as registering
    it would hide the edit.
    """
    signatures = envelope.get("signatures")
    keyids = (
        {str(s.get("keyid")) for s in signatures if isinstance(s, Mapping)}
        if isinstance(signatures, list)
        else set()
    )
    if not keyids & set(trusted):
        return None
    return SIGNED_PREFIX + verify_evidence_signature(envelope, evidence, trusted)


def check_rerun_data(evidence: Evidence, data: Path) -> None:
    """Refuse evaluation data other than the data the evidence was produced on."""
    recorded = evidence.inputs.get("data")
    if recorded is None:
        raise CharterError(
            "the evidence has no data fingerprint to compare the evaluation data with",
            hint="run `charter check` again (it fingerprints the data) and attach that evidence",
        )
    if not data.is_file():
        raise CharterError(f"no evaluation data at {data}", hint="give the file the gate read")
    actual = sha256_file(data)
    if actual != recorded.sha256:
        raise CharterError(
            f"{data} (sha256 {actual[:12]}…) is not the data the evidence was produced on"
            f" (sha256 {recorded.sha256[:12]}…)",
            hint="give the very file `charter check --data` read; a copy with other bytes"
            " (re-saved, re-encoded) does not count",
        )
    if "predictions" in evidence.inputs or "scores" in evidence.inputs:
        raise CharterError(
            "the evidence judged predictions from a separate file; the registry re-runs the"
            " gate with the version's own model",
            hint="run the gate with --model and attach that evidence",
        )


def rerun_differences(submitted: Evidence, rerun: Evidence) -> list[str]:
    """Findings of ``submitted`` that the registry's own run of the gate does not reproduce."""
    ours = {f.rule_id: f for f in rerun.findings}
    theirs: dict[str, list[Finding]] = {}
    for finding in submitted.findings:
        theirs.setdefault(finding.rule_id, []).append(finding)
    problems: list[str] = []
    for rule_id, mine in ours.items():
        found = theirs.get(rule_id, [])
        if len(found) != 1:
            problems.append(f"rule '{rule_id}': the evidence has {len(found)} findings, the gate 1")
            continue
        other = found[0]
        if other.verdict is not mine.verdict:
            problems.append(
                f"rule '{rule_id}': the evidence says {other.verdict}, the gate {mine.verdict}"
            )
        if not _same_value(other.value, mine.value):
            problems.append(
                f"rule '{rule_id}': the evidence's value {other.value!r}, the gate's {mine.value!r}"
            )
        if other.threshold != mine.threshold:
            problems.append(f"rule '{rule_id}': the evidence's bounds differ from the gate's")
    for rule_id in set(theirs) - set(ours):
        problems.append(f"rule '{rule_id}': in the evidence, but the gate has no such rule")
    return problems


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=VALUE_TOLERANCE, abs_tol=1e-12)


def describe(verified: str | None) -> str:
    """How a verification reads in messages: ``re-run by the registry``, ``signed by ab12…``."""
    if verified is None:
        return "not verified"
    if verified == RERUN:
        return "re-run by the registry"
    return f"signed by key {verified.removeprefix(SIGNED_PREFIX)[:12]}…"


def verification_problem(verified: str | None, *, tier: str) -> str | None:
    """The promotion problem of evidence that is not verified where the policy requires it."""
    if verified is not None:
        return None
    return (
        f"the evidence is not verified, and the policy ({tier} tier) requires verified"
        " evidence: sign it in CI (`charter check --sign KEY`, key trusted by an admin) or"
        " have the registry re-run the gate (`charter evidence verify NAME:VERSION --data FILE`)"
    )


def differences_error(problems: Sequence[str]) -> CharterError:
    """The refusal of evidence the registry's re-run does not reproduce."""
    shown = "; ".join(problems[:5]) + (
        f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    )
    return CharterError(
        f"the registry ran the gate on that data and got other findings: {shown}",
        hint="the evidence does not match its own inputs (edited, or produced by another"
        " Charter); run `charter check` again and attach the fresh evidence",
    )
