"""Signed checkpoints: an outside witness of the audit trail's head.

The hash chain proves that entries were not changed *relative to the head*, but whoever can
write the database can also delete the last entries and move the head back, or — on an
unkeyed chain — rewrite an entry and recompute every hash after it. Neither is visible from
inside the database. A checkpoint closes that gap: the auditor signs (Ed25519) the head's
sequence number and hash and keeps the signed statement *outside* the database — a file, or
any fsspec URL such as a write-once (object-lock) bucket. Later,
``charter audit verify --checkpoint FILE...`` checks that the chain still contains every
checkpointed head, entry for entry: the entry at that sequence number exists and has exactly
that hash, and the chain verifies from the first entry through it.

The checkpoint is a DSSE envelope (:mod:`charter.signing`) whose payload is::

    {"_type": "https://charter.dev/audit-checkpoint/v1", "seq": 812, "hash": "9f2c...",
     "alg": "sha256", "at": "2026-12-03T16:00:00.000000Z"}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, select

from charter.audit.chain import utc_timestamp
from charter.audit.tables import audit_entries
from charter.audit.verify import AuditChainBrokenError, ChainReport
from charter.errors import CharterError
from charter.evidence import canonical_json
from charter.signing import SignatureError, open_envelope, sign_envelope

CHECKPOINT_PAYLOAD_TYPE = "application/vnd.charter.audit-checkpoint+json"
CHECKPOINT_TYPE = "https://charter.dev/audit-checkpoint/v1"


@dataclass(frozen=True)
class Checkpoint:
    """A head of the chain as a signed checkpoint states it."""

    seq: int
    hash: str
    alg: str
    at: str
    keyid: str = ""
    source: str = ""


def make_checkpoint(report: ChainReport, alg: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed checkpoint of the head of an intact chain.

    Raises
    ------
    AuditChainBrokenError
        The chain does not verify: a broken chain is never vouched for.
    """
    report.raise_for_break()
    payload = canonical_json(
        {
            "_type": CHECKPOINT_TYPE,
            "seq": report.head_seq,
            "hash": report.head_hash,
            "alg": alg,
            "at": utc_timestamp(),
        }
    )
    return sign_envelope(CHECKPOINT_PAYLOAD_TYPE, payload, key)


def write_checkpoint(envelope: Mapping[str, Any], target: str) -> str:
    """Write ``envelope`` to a local path or an fsspec URL; refuse to replace a checkpoint."""
    import fsspec

    data = (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode("utf-8")
    try:
        fs, path = fsspec.core.url_to_fs(target)
    except (ValueError, ImportError) as exc:
        raise CharterError(
            f"cannot write the checkpoint to {target}: {exc}",
            hint="give a file path, or an fsspec URL whose filesystem is installed",
        ) from None
    if fs.exists(path):
        raise CharterError(
            f"{target} already holds a checkpoint; checkpoints are never overwritten",
            hint="give a new name, e.g. one with the date and the head's sequence number",
        )
    if "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)):
        from charter.files import write_atomic

        write_atomic(path, data)
        return target
    with fs.open(path, "wb") as handle:
        handle.write(data)
    return target


def checkpoint_target(template: str, envelope: Mapping[str, Any]) -> str:
    """``template`` with ``{seq}`` and ``{at}`` replaced by the checkpoint's head and time."""
    import base64

    payload = json.loads(base64.b64decode(envelope["payload"]))
    at = str(payload.get("at", "")).replace(":", "").replace("-", "")
    return template.replace("{seq}", str(payload["seq"])).replace("{at}", at)


def read_checkpoint(source: str, trusted: Mapping[str, Ed25519PublicKey]) -> Checkpoint:
    """Read a checkpoint from a path or fsspec URL and check its signature.

    Raises
    ------
    SignatureError
        The file is not a checkpoint, or no trusted key signed it.
    """
    import fsspec

    try:
        with fsspec.open(source, "rb") as handle:
            envelope = json.loads(handle.read())
    except (OSError, ValueError, ImportError) as exc:
        raise CharterError(
            f"cannot read the checkpoint {source}: {exc}",
            hint="give the file `charter audit checkpoint` wrote",
        ) from None
    if not isinstance(envelope, dict):
        raise SignatureError(f"{source} is not a signed checkpoint")
    payload, keyid = open_envelope(envelope, trusted, payload_type=CHECKPOINT_PAYLOAD_TYPE)
    try:
        data = json.loads(payload)
        if data.get("_type") != CHECKPOINT_TYPE:
            raise ValueError(data.get("_type"))
        return Checkpoint(
            seq=int(data["seq"]),
            hash=str(data["hash"]),
            alg=str(data.get("alg", "")),
            at=str(data.get("at", "")),
            keyid=keyid,
            source=source,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SignatureError(f"{source} does not hold an audit checkpoint") from None


def missing_checkpoints(engine: Engine, checkpoints: Sequence[Checkpoint]) -> list[str]:
    """Why the chain at ``engine`` no longer contains each checkpointed head (empty: it does).

    Use with an intact :class:`ChainReport`: the chain's links then tie every entry up to the
    head, so the entry at a checkpoint's sequence number having the checkpoint's hash proves
    the chain still contains everything the checkpoint saw.
    """
    problems: list[str] = []
    with engine.connect() as connection:
        for point in checkpoints:
            row = connection.execute(
                select(audit_entries.c.hash).where(audit_entries.c.seq == point.seq)
            ).first()
            name = f"checkpoint {point.source or ''} (entry {point.seq}, signed {point.at})"
            if row is None:
                problems.append(
                    f"{name}: entry {point.seq} is gone; entries were deleted and the head moved"
                    " back"
                )
            elif row[0] != point.hash:
                problems.append(
                    f"{name}: entry {point.seq} now hashes to {str(row[0])[:16]}, the checkpoint"
                    f" says {point.hash[:16]}; the chain was rewritten"
                )
    return problems


def raise_for_missing(problems: Sequence[str]) -> None:
    """Raise :class:`AuditChainBrokenError` (exit 1) when any checkpoint is not contained."""
    if problems:
        raise AuditChainBrokenError(
            "the audit trail no longer contains a signed checkpoint's head: " + "; ".join(problems),
            hint="the database was changed outside Charter after the checkpoint; restore it"
            " from a backup and investigate who had write access",
        )
