"""The tamper-evident audit trail: hash-chained entries, appended with every state change.

:mod:`charter.audit.chain` defines entries and appends them; :mod:`charter.audit.verify`
checks the chain and says how it was broken; :mod:`charter.audit.log` filters and exports.
"""

from charter.audit.chain import ALG_HMAC, ALG_SHA256, AUDIT_KEY_ENV, GENESIS, AuditEntry
from charter.audit.verify import AuditChainBrokenError, BreakKind, ChainReport, verify_chain

__all__ = [
    "ALG_HMAC",
    "ALG_SHA256",
    "AUDIT_KEY_ENV",
    "GENESIS",
    "AuditChainBrokenError",
    "AuditEntry",
    "BreakKind",
    "ChainReport",
    "verify_chain",
]
