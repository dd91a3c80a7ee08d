"""Ed25519 signatures in DSSE envelopes: signed evidence and signed audit checkpoints.

A signature says "the holder of this key vouches for these bytes". Charter signs two things:

* **evidence**: ``charter check --sign KEY`` signs an in-toto Statement whose subject is the
  evidence bundle's digest (:attr:`charter.evidence.Evidence.digest`) and writes the envelope
  beside ``evidence.json`` as ``evidence.dsse.json``. A registry that trusts the CI's public
  key then knows the findings are the gate's, not an editor's.
* **audit checkpoints** (:mod:`charter.audit.checkpoint`): the head's sequence number and hash,
  signed by the auditor, kept outside the database.

The envelope is the `DSSE <https://github.com/secure-systems-lab/dsse>`_ format that in-toto
and Sigstore use: ``{"payloadType", "payload" (base64), "signatures": [{"keyid", "sig"}]}``;
the signature is over DSSE's pre-authentication encoding of the type and the payload, so a
signature over one type of payload cannot be replayed as another. A key's id is the sha256 of
its raw 32-byte public key, in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from charter.errors import CharterError, SignatureError
from charter.evidence import Evidence, canonical_json

#: DSSE payload type of a signed evidence statement.
EVIDENCE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: The predicate type naming Charter evidence inside the in-toto Statement.
EVIDENCE_PREDICATE = "https://charter.dev/evidence/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: File name of the envelope written beside ``evidence.json``.
EVIDENCE_SIGNATURE_FILE = "evidence.dsse.json"

__all__ = [
    "EVIDENCE_SIGNATURE_FILE",
    "KeyPair",
    "SignatureError",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "open_envelope",
    "read_envelope",
    "sign_envelope",
    "sign_evidence",
    "verify_evidence_signature",
    "write_evidence_signature",
    "write_keypair",
]


@dataclass(frozen=True)
class KeyPair:
    """PEM text of a new key pair and the key's id."""

    private_pem: bytes
    public_pem: bytes
    keyid: str


def generate_keypair() -> KeyPair:
    """A fresh Ed25519 key pair (private key PKCS#8 PEM, public key SubjectPublicKeyInfo PEM)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return KeyPair(
        private_pem=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        public_pem=public_pem(public).encode("ascii"),
        keyid=key_id(public),
    )


def write_keypair(prefix: str | Path) -> tuple[Path, Path, str]:
    """Write ``PREFIX.key`` (mode 0600) and ``PREFIX.pub``; refuse to overwrite either."""
    pair = generate_keypair()
    base = Path(prefix)
    private_path, public_path = Path(f"{base}.key"), Path(f"{base}.pub")
    for path in (private_path, public_path):
        if path.exists():
            raise CharterError(
                f"{path} already exists", hint="choose another --out prefix, or remove the file"
            )
    base.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pair.private_pem)
    public_path.write_bytes(pair.public_pem)
    return private_path, public_path, pair.keyid


def key_id(public: Ed25519PublicKey) -> str:
    """sha256 (hex) of the raw public key: how envelopes and the registry name a key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM text."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at ``path`` (unencrypted PKCS#8)."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise SignatureError(
            f"cannot read the key {source}: {exc.strerror or exc}",
            hint="give the private key written by `charter keys generate`",
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(
            f"{source} is not an unencrypted PEM private key ({exc})",
            hint="create one with `charter keys generate --out NAME`",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(
            f"{source} holds a {type(key).__name__.removeprefix('_')}, not an Ed25519 key",
            hint="Charter signs with Ed25519: `charter keys generate --out NAME`",
        )
    return key


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SignatureError(
            f"not a PEM public key ({exc})",
            hint="give the .pub file written by `charter keys generate`",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError(
            "the public key is not an Ed25519 key",
            hint="Charter verifies Ed25519 signatures: `charter keys generate`",
        )
    return key


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature is actually over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def sign_envelope(payload_type: str, payload: bytes, key: Ed25519PrivateKey) -> dict[str, Any]:
    """A DSSE envelope of ``payload`` signed with ``key``."""
    signature = key.sign(pae(payload_type, payload))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}
        ],
    }


def open_envelope(
    envelope: Mapping[str, Any],
    trusted: Mapping[str, Ed25519PublicKey],
    *,
    payload_type: str,
) -> tuple[bytes, str]:
    """The payload of ``envelope`` and the id of the trusted key whose signature holds.

    Raises
    ------
    SignatureError
        The envelope is malformed, of another payload type, signed by no trusted key, or its
        signature does not verify (the payload or the signature was changed).
    """
    try:
        kind = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = list(envelope["signatures"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise SignatureError(
            "the signature file is not a DSSE envelope (payloadType, payload, signatures)",
            hint="sign with `charter check --sign KEY` or `charter audit checkpoint`",
        ) from None
    if kind != payload_type:
        raise SignatureError(f"the envelope signs a {kind!r}, not a {payload_type!r}")
    known = [s for s in signatures if isinstance(s, Mapping) and s.get("keyid") in trusted]
    if not known:
        ids = ", ".join(str(s.get("keyid", "?"))[:12] for s in signatures if isinstance(s, dict))
        raise SignatureError(
            f"the envelope is signed by no trusted key (key ids: {ids or 'none'})",
            hint="an admin trusts a public key with `charter keys trust NAME --public KEY.pub`",
        )
    message = pae(payload_type, payload)
    for entry in known:
        keyid = str(entry["keyid"])
        try:
            trusted[keyid].verify(base64.b64decode(str(entry.get("sig", ""))), message)
        except (InvalidSignature, ValueError, binascii.Error):
            continue
        return payload, keyid
    raise SignatureError(
        "the signature does not verify: the signed content was changed after signing",
        hint="run the gate again and sign its fresh evidence",
    )


# ---------------------------------------------------------------------- evidence
def evidence_statement(evidence: Evidence) -> bytes:
    """The in-toto Statement naming ``evidence`` by its digest (canonical JSON bytes)."""
    return canonical_json(
        {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": "evidence.json", "digest": {"sha256": evidence.digest}}],
            "predicateType": EVIDENCE_PREDICATE,
            "predicate": {
                "model_name": evidence.model_name,
                "policy_sha256": evidence.policy.sha256,
                "status": evidence.status,
            },
        }
    )


def sign_evidence(evidence: Evidence, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The DSSE envelope vouching for ``evidence``."""
    return sign_envelope(EVIDENCE_PAYLOAD_TYPE, evidence_statement(evidence), key)


def verify_evidence_signature(
    envelope: Mapping[str, Any], evidence: Evidence, trusted: Mapping[str, Ed25519PublicKey]
) -> str:
    """The id of the trusted key that signed exactly ``evidence``; else :class:`SignatureError`."""
    payload, keyid = open_envelope(envelope, trusted, payload_type=EVIDENCE_PAYLOAD_TYPE)
    try:
        statement = json.loads(payload)
        subject = statement["subject"][0]["digest"]["sha256"]
        predicate = statement["predicateType"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise SignatureError("the signed statement is not an in-toto Statement") from None
    if predicate != EVIDENCE_PREDICATE:
        raise SignatureError(f"the signed statement is a {predicate!r}, not Charter evidence")
    if subject != evidence.digest:
        raise SignatureError(
            f"the signature is over evidence {str(subject)[:12]}, not this evidence"
            f" ({evidence.digest[:12]}): the evidence was changed after it was signed",
            hint="run the gate again and sign its fresh evidence",
        )
    return keyid


def read_envelope(path: str | Path) -> dict[str, Any] | None:
    """The envelope at ``path`` (or ``evidence.dsse.json`` in that folder), ``None`` if absent."""
    source = Path(path)
    if source.is_dir():
        source = source / EVIDENCE_SIGNATURE_FILE
    elif source.name != EVIDENCE_SIGNATURE_FILE and source.suffix == ".json":
        source = source.with_name(EVIDENCE_SIGNATURE_FILE)
    if not source.is_file():
        return None
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SignatureError(f"cannot read the signature {source}: {exc}") from None
    if not isinstance(data, dict):
        raise SignatureError(f"{source} is not a DSSE envelope")
    return data


def write_evidence_signature(evidence: Evidence, key: Ed25519PrivateKey, folder: Path) -> Path:
    """Sign ``evidence`` and write the envelope as ``folder/evidence.dsse.json``."""
    from charter.files import write_atomic

    target = folder / EVIDENCE_SIGNATURE_FILE
    write_atomic(target, (json.dumps(sign_evidence(evidence, key), indent=2) + "\n").encode())
    return target
