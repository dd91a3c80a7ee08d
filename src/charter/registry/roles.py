"""Roles, actions and the one permission matrix of the registry.

Every door — the CLI, the Python API, the HTTP service — goes through
:class:`charter.registry.Registry`, which asks :func:`permitted` before any action and refuses
with :func:`denial_message`, naming the role the action needs. Changing who may do what means
changing :data:`PERMISSIONS`, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from charter.errors import CharterError, did_you_mean


class Role(StrEnum):
    """What a user is allowed to do, by the part they play."""

    ADMIN = "admin"
    """Manages users, roles and tokens; reads everything. Does not approve or promote."""
    DATA_SCIENTIST = "data_scientist"
    """Registers versions and attaches evidence."""
    ML_ENGINEER = "ml_engineer"
    """Registers versions, requests promotion, archives, sets aliases, records monitoring."""
    APPROVER = "approver"
    """Approves or rejects promotion requests (never their own); resolves review flags."""
    AUDITOR = "auditor"
    """Reads everything, including the audit trail; changes nothing."""
    MONITOR = "monitor"
    """Service account of scheduled monitoring: records monitoring evidence, flags versions."""
    INVOKER = "invoker"
    """Service account of an application: asks the served model for predictions, nothing else."""
    LABELER = "labeler"
    """Posts the true outcomes (labels) of served predictions, nothing else."""

    @classmethod
    def _missing_(cls, value: object) -> Role:
        """``Role("nope")`` raises a :class:`~charter.errors.CharterError`, not a ValueError."""
        raise unknown_role(str(value))


class Action(StrEnum):
    """Everything the registry lets someone do, one name per permission."""

    USER_ADD = "user.add"
    USER_GRANT = "user.grant"
    USER_DISABLE = "user.disable"
    USER_LIST = "user.list"
    TOKEN_CREATE = "token.create"
    """Create or revoke a token for oneself."""
    TOKEN_MANAGE = "token.manage"
    """Create or revoke tokens of other users."""
    MODEL_REGISTER = "model.register"
    EVIDENCE_ATTACH = "evidence.attach"
    VERSION_READ = "version.read"
    """List and show models, versions, requests; download artifacts; write cards and reports."""
    PROMOTION_REQUEST = "promotion.request"
    PROMOTION_APPROVE = "promotion.approve"
    PROMOTION_REJECT = "promotion.reject"
    VERSION_ARCHIVE = "version.archive"
    ALIAS_SET = "alias.set"
    MONITORING_RECORD = "monitoring.record"
    VERSION_FLAG = "version.flag"
    FLAG_RESOLVE = "flag.resolve"
    """Resolve a flag such as ``needs-review`` after review, with a reason (never deleted)."""
    AUDIT_READ = "audit.read"
    """Read, verify and export the audit trail."""
    AUDIT_CHECKPOINT = "audit.checkpoint"
    """Sign the audit trail's head, to keep outside the database."""
    KEY_TRUST = "key.trust"
    """Trust (or revoke) a public key whose signatures make evidence verified."""
    APPROVAL_FLOOR = "model.approval_floor"
    """Set the fewest approvals a model's promotion to production needs."""
    MONITORING_ALLOW = "monitoring.allow"
    """Allow-list the commands, textfiles and webhooks registered policies may trigger."""
    EVIDENCE_VERIFY = "evidence.verify"
    """Have the registry re-run the gate on the evaluation data to verify a version's evidence."""
    MODEL_PREDICT = "model.predict"
    """Get predictions, with explanations, of the production version of a served model."""
    MODEL_PREDICT_VERSION = "model.predict_version"
    """Get predictions of a version other than production (``?version=N``, ``?alias=A``)."""
    LABELS_WRITE = "labels.write"
    """Post the true outcomes of served predictions."""
    INFERENCE_READ = "inference.read"
    """Look up served predictions by request id (inputs, prediction, explanation, label)."""
    SERVING_SUSPEND = "serving.suspend"
    """Suspend or resume the serving of a model (the stop button, EU AI Act Art. 14(4)(e))."""


_ALL = frozenset(Role)
#: Every role but the service accounts of serving, which may do one thing each.
_PEOPLE = _ALL - {Role.INVOKER, Role.LABELER}

#: Which roles may perform each action. The single source of truth for authorization.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.USER_ADD: frozenset({Role.ADMIN}),
    Action.USER_GRANT: frozenset({Role.ADMIN}),
    Action.USER_DISABLE: frozenset({Role.ADMIN}),
    Action.USER_LIST: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.TOKEN_CREATE: _PEOPLE,
    Action.TOKEN_MANAGE: frozenset({Role.ADMIN}),
    Action.MODEL_REGISTER: frozenset({Role.DATA_SCIENTIST, Role.ML_ENGINEER}),
    Action.EVIDENCE_ATTACH: frozenset({Role.DATA_SCIENTIST, Role.ML_ENGINEER}),
    Action.VERSION_READ: _PEOPLE,
    Action.PROMOTION_REQUEST: frozenset({Role.ML_ENGINEER}),
    Action.PROMOTION_APPROVE: frozenset({Role.APPROVER}),
    Action.PROMOTION_REJECT: frozenset({Role.APPROVER}),
    Action.VERSION_ARCHIVE: frozenset({Role.ML_ENGINEER}),
    Action.ALIAS_SET: frozenset({Role.ML_ENGINEER, Role.DATA_SCIENTIST}),
    Action.MONITORING_RECORD: frozenset({Role.ML_ENGINEER, Role.MONITOR}),
    Action.VERSION_FLAG: frozenset({Role.ML_ENGINEER, Role.MONITOR}),
    Action.FLAG_RESOLVE: frozenset({Role.ADMIN, Role.APPROVER}),
    Action.AUDIT_READ: frozenset({Role.ADMIN, Role.AUDITOR}),
    Action.AUDIT_CHECKPOINT: frozenset({Role.AUDITOR}),
    Action.KEY_TRUST: frozenset({Role.ADMIN}),
    Action.APPROVAL_FLOOR: frozenset({Role.ADMIN}),
    Action.MONITORING_ALLOW: frozenset({Role.ADMIN}),
    Action.EVIDENCE_VERIFY: frozenset(
        {Role.DATA_SCIENTIST, Role.ML_ENGINEER, Role.APPROVER, Role.AUDITOR}
    ),
    Action.MODEL_PREDICT: frozenset({Role.DATA_SCIENTIST, Role.ML_ENGINEER, Role.INVOKER}),
    Action.MODEL_PREDICT_VERSION: frozenset({Role.DATA_SCIENTIST, Role.ML_ENGINEER}),
    Action.LABELS_WRITE: frozenset({Role.ML_ENGINEER, Role.MONITOR, Role.LABELER}),
    Action.INFERENCE_READ: _PEOPLE - {Role.MONITOR},
    Action.SERVING_SUSPEND: frozenset({Role.ADMIN, Role.APPROVER}),
}


#: What a system actor (:meth:`charter.registry.Actor.system`) may do: read, nothing else.
SYSTEM_PERMISSIONS: frozenset[Action] = frozenset({Action.VERSION_READ, Action.AUDIT_READ})


def permitted(roles: Iterable[Role | str], action: Action) -> bool:
    """Whether a holder of ``roles`` may perform ``action``."""
    allowed = PERMISSIONS[action]
    return any(Role(r) in allowed for r in roles)


def roles_for(action: Action) -> list[str]:
    """The roles that may perform ``action``, in declaration order."""
    allowed = PERMISSIONS[action]
    return [r.value for r in Role if r in allowed]


def denial_message(username: str, roles: Iterable[Role | str], action: Action) -> str:
    """The sentence a refused user reads: who, what, and the role it needs."""
    needed = roles_for(action)
    needs = f"the role {needed[0]}" if len(needed) == 1 else "one of the roles " + ", ".join(needed)
    held = ", ".join(sorted(str(r) for r in roles)) or "no role"
    return f"{username} ({held}) may not {action.value}: it needs {needs}"


def role_to_grant(action: Action) -> str:
    """The least powerful role allowing ``action`` (what a denial's hint suggests)."""
    needed = [r for r in roles_for(action) if r != Role.ADMIN.value] or roles_for(action)
    return needed[0]


def parse_role(value: str) -> Role:
    """The :class:`Role` named ``value``, or a :class:`~charter.errors.CharterError`."""
    return Role(value)


def unknown_role(value: str) -> CharterError:
    """The error for a role name that is not one of :class:`Role`."""
    names = [r.value for r in Role]
    guess = did_you_mean(value, names)
    return CharterError(
        f"unknown role '{value}'",
        hint=(guess + "; " if guess else "") + "roles: " + ", ".join(names),
        field="role",
    )
