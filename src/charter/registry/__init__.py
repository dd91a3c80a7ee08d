"""The governed model registry.

Versions with lineage and evidence, promotion with approvals, users with roles, and the audit
trail.

Open it with :meth:`Registry.open` (or create one with :meth:`Registry.initialize`), get an
:class:`Actor` from a token with :meth:`Registry.authenticate`, and call its methods; the CLI
(``charter register``, ``charter promote``, ...) and the HTTP service do exactly that.
"""

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
