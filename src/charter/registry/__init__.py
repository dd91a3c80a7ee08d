"""The governed model registry.

Versions with lineage and evidence, promotion with approvals, users with roles, and the audit
trail. Open it with :meth:`Registry.open` (or create one with :meth:`Registry.initialize`),
get an :class:`Actor` from a token with :meth:`Registry.authenticate`, and call its methods;
the CLI (``charter register``, ``charter promote``, ...) and the HTTP service do exactly that.

Names are imported on first use, so a leaf module (records, roles, tables) can be imported
without loading the service layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charter.registry.records import (
        Actor,
        ApprovalInfo,
        EvidenceInfo,
        IssuedToken,
        ModelSummary,
        ModelVersion,
        RequestInfo,
        TransitionInfo,
        UserInfo,
    )
    from charter.registry.roles import PERMISSIONS, Action, Role
    from charter.registry.service import TOKEN_ENV, Registry, split_ref

_EXPORTS = {
    "Actor": "charter.registry.records",
    "ApprovalInfo": "charter.registry.records",
    "EvidenceInfo": "charter.registry.records",
    "IssuedToken": "charter.registry.records",
    "ModelSummary": "charter.registry.records",
    "ModelVersion": "charter.registry.records",
    "RequestInfo": "charter.registry.records",
    "TransitionInfo": "charter.registry.records",
    "UserInfo": "charter.registry.records",
    "PERMISSIONS": "charter.registry.roles",
    "Action": "charter.registry.roles",
    "Role": "charter.registry.roles",
    "TOKEN_ENV": "charter.registry.service",
    "Registry": "charter.registry.service",
    "split_ref": "charter.registry.service",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'charter.registry' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "PERMISSIONS",
    "TOKEN_ENV",
    "Action",
    "Actor",
    "ApprovalInfo",
    "EvidenceInfo",
    "IssuedToken",
    "ModelSummary",
    "ModelVersion",
    "Registry",
    "RequestInfo",
    "Role",
    "TransitionInfo",
    "UserInfo",
    "split_ref",
]
