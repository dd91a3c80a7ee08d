"""Every role against every action, parametrized from the permission matrix itself."""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from registry_support import (
    BACKENDS,
    Team,
    fresh_database,
    make_candidate,
    make_team,
    register,
    save_model,
    training_frame,
    write_evidence,
    write_policy,
)

from charter.errors import PermissionDeniedError
from charter.evidence import Evidence, Fingerprint
from charter.monitor.allowlist import ActionAllowList
from charter.registry import PERMISSIONS, Action, Actor, Role
from charter.registry import serving as registry_serving
from charter.registry.roles import roles_for
from charter.signing import generate_keypair

#: One user of the standard team per role.
ACTING = {
    Role.ADMIN: "ada",
    Role.DATA_SCIENTIST: "dora",
    Role.ML_ENGINEER: "eli",
    Role.APPROVER: "ann",
    Role.AUDITOR: "otto",
    Role.MONITOR: "mo",
    Role.INVOKER: "ivy",
    Role.LABELER: "lars",
}


@pytest.fixture(scope="module", params=BACKENDS)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Team]:
    """One registry per backend for the whole matrix; every case works on its own model."""
    folder = tmp_path_factory.mktemp("matrix")
    with fresh_database(request.param, folder) as url:
        team = make_team(url, folder / "artifacts")
        yield team
        team.registry.close()


def _version(team: Team, folder: Path) -> str:
    """Register a fresh model (as eli) and return its name."""
    name = f"m-{uuid.uuid4().hex[:8]}"
    candidate = make_candidate(folder, name=name, tier="high")
    register(team, candidate, name=name)
    return name


def _pending_request(team: Team, folder: Path) -> int:
    """A fresh production request by emma (not among the acting users), waiting for approval."""
    name = _version(team, folder)
    request = team.registry.request_promotion(name, 1, "production", actor=team["emma"])
    assert request.status == "pending"
    return request.id


def _do_register(team: Team, actor: Actor, folder: Path) -> Any:
    name = f"m-{uuid.uuid4().hex[:8]}"
    candidate = make_candidate(folder, name=name)
    return team.registry.register(
        name,
        model=candidate.model,
        evidence=candidate.evidence,
        policy=candidate.policy,
        actor=actor,
        source_dir=folder,
    )


def _do_attach(team: Team, actor: Actor, folder: Path) -> Any:
    name = _version(team, folder)
    version = team.registry.get_version(name, 1, actor=team["otto"])
    evidence = write_evidence(
        folder / "again",
        policy_path=folder / "policy" / "policy.yaml",
        model_path=folder / "model" / "model.skops",
        name=name,
    )
    assert version.evidence is not None
    return team.registry.attach_evidence(name, 1, evidence, actor=actor)


def _do_verify(team: Team, actor: Actor, folder: Path) -> Any:
    """The registry re-runs a real gate (real model, the very data file) and verifies."""
    from charter.gate import check

    name = f"m-{uuid.uuid4().hex[:8]}"
    policy = write_policy(folder / "policy", name=name, tier="minimal")
    model = save_model(folder / "model")
    training_frame(n=200, seed=4).to_parquet(folder / "data.parquet")
    check(policy, folder / "data.parquet", model=model, out=folder / "gate", progress=False)
    team.registry.register(
        name, model=model, evidence=folder / "gate", policy=policy, actor=team["eli"]
    )
    return team.registry.verify_evidence(name, 1, folder / "data.parquet", actor=actor)


def _monitoring_evidence(name: str, policy_sha: str) -> Evidence:
    return Evidence(model_name=name, policy=Fingerprint(kind="policy", sha256=policy_sha))


def _other_user(actor: Actor) -> str:
    return "otto" if actor.username != "otto" else "dora"


_SERVING_READS = (
    Action.MODEL_PREDICT,
    Action.MODEL_PREDICT_VERSION,
    Action.LABELS_WRITE,
    Action.INFERENCE_READ,
)


def _authorize(action: Action, team: Team, actor: Actor, folder: Path) -> None:
    registry_serving.authorize(team.registry, actor, action, _version(team, folder))


ACTIONS: dict[Action, Callable[[Team, Actor, Path], Any]] = {
    Action.USER_ADD: lambda t, a, f: t.registry.add_user(
        f"u-{uuid.uuid4().hex[:8]}", [Role.AUDITOR], actor=a
    ),
    Action.USER_GRANT: lambda t, a, f: t.registry.grant(_other_user(a), [Role.AUDITOR], actor=a),
    Action.USER_DISABLE: lambda t, a, f: t.registry.disable_user(
        t.registry.add_user(f"u-{uuid.uuid4().hex[:8]}", [Role.AUDITOR], actor=t["ada"]).username,
        actor=a,
    ),
    Action.USER_LIST: lambda t, a, f: t.registry.list_users(actor=a),
    Action.TOKEN_CREATE: lambda t, a, f: t.registry.create_token(actor=a),
    Action.TOKEN_MANAGE: lambda t, a, f: t.registry.create_token(actor=a, username=_other_user(a)),
    Action.MODEL_REGISTER: _do_register,
    Action.EVIDENCE_ATTACH: _do_attach,
    Action.VERSION_READ: lambda t, a, f: t.registry.get_version(_version(t, f), 1, actor=a),
    Action.PROMOTION_REQUEST: lambda t, a, f: t.registry.request_promotion(
        _version(t, f), 1, "staging", actor=a
    ),
    Action.PROMOTION_APPROVE: lambda t, a, f: t.registry.approve(_pending_request(t, f), actor=a),
    Action.PROMOTION_REJECT: lambda t, a, f: t.registry.reject(
        _pending_request(t, f), actor=a, reason="not yet"
    ),
    Action.VERSION_ARCHIVE: lambda t, a, f: t.registry.archive(_version(t, f), 1, actor=a),
    Action.ALIAS_SET: lambda t, a, f: t.registry.set_alias(_version(t, f), "champion", 1, actor=a),
    Action.MONITORING_RECORD: lambda t, a, f: (
        lambda name: t.registry.record_monitoring(
            name,
            1,
            _monitoring_evidence(
                name, t.registry.get_version(name, 1, actor=t["otto"]).policy_sha256
            ),
            actor=a,
        )
    )(_version(t, f)),
    Action.VERSION_FLAG: lambda t, a, f: t.registry.flag_version(
        _version(t, f), 1, "needs-review", "drift", actor=a
    ),
    Action.FLAG_RESOLVE: lambda t, a, f: (
        lambda name: (
            t.registry.flag_version(name, 1, "needs-review", "drift", actor=t["mo"]),
            t.registry.resolve_flag(name, 1, "needs-review", "reviewed", actor=a),
        )
    )(_version(t, f)),
    Action.AUDIT_READ: lambda t, a, f: t.registry.audit_log(actor=a, limit=5),
    Action.AUDIT_CHECKPOINT: lambda t, a, f: t.registry.checkpoint_audit(
        Ed25519PrivateKey.generate(), actor=a
    ),
    Action.KEY_TRUST: lambda t, a, f: t.registry.trust_key(
        "ci", generate_keypair().public_pem.decode(), actor=a
    ),
    Action.APPROVAL_FLOOR: lambda t, a, f: t.registry.set_approval_floor(
        _version(t, f), 2, actor=a
    ),
    Action.MONITORING_ALLOW: lambda t, a, f: t.registry.set_monitoring_allowlist(
        ActionAllowList(commands=("true",)), actor=a
    ),
    Action.EVIDENCE_VERIFY: _do_verify,
    # the serving routes ask the registry before predicting, labelling or looking up
    **{action: functools.partial(_authorize, action) for action in _SERVING_READS},
    Action.SERVING_SUSPEND: lambda t, a, f: (
        lambda name: (
            registry_serving.suspend(t.registry, name, "stop", actor=a),
            registry_serving.resume(t.registry, name, actor=a),
        )
    )(_version(t, f)),
}


def test_every_action_has_a_scenario() -> None:
    assert set(ACTIONS) == set(Action) == set(PERMISSIONS)


@pytest.mark.parametrize(
    ("role", "action"),
    list(itertools.product(list(ACTING), list(Action))),
    ids=lambda v: str(v.value),
)
def test_role_may_do_exactly_what_the_matrix_allows(
    shared: Team, role: Role, action: Action, tmp_path: Path
) -> None:
    actor = shared[ACTING[role]]
    allowed = role in PERMISSIONS[action]
    before = shared.registry.verify_audit(actor=shared["otto"]).head_seq
    if allowed:
        ACTIONS[action](shared, actor, tmp_path)
        denials = [
            e
            for e in shared.registry.audit_log(actor=shared["otto"], action="access.denied")
            if e.seq > before and e.actor == actor.username
        ]
        assert denials == []
        return
    with pytest.raises(PermissionDeniedError) as caught:
        ACTIONS[action](shared, actor, tmp_path)
    message = str(caught.value)
    assert action.value in message
    assert all(r in message for r in roles_for(action))
    denials = [
        e
        for e in shared.registry.audit_log(actor=shared["otto"], action="access.denied")
        if e.seq > before
    ]
    assert len(denials) == 1
    assert denials[0].actor == actor.username
    assert denials[0].details["attempted"] == action.value
    assert denials[0].details["needs"] == roles_for(action)
    assert shared.registry.verify_audit(actor=shared["otto"]).ok
