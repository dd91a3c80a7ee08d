"""Real processes: two promotions racing, and a process killed in the middle of one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register, snapshot

pytestmark = pytest.mark.slow

#: Runs the CLI once a "go" file appears (after the imports), so both racers start together.
#: The registry it opens pauses where CHARTER_PAUSE_AT says (a checkpoint only tests inject).
RUNNER = """
import os, sys, time
from pathlib import Path
from charter.cli.app import main, _register_commands
from charter.registry import Registry
_register_commands()

def checkpoint(point):
    if os.environ.get("CHARTER_PAUSE_AT") != point:
        return
    marker = os.environ.get("CHARTER_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(float(os.environ.get("CHARTER_PAUSE_SECONDS", "3600")))

_open = Registry.open
Registry.open = staticmethod(lambda *a, **k: _open(*a, checkpoint=checkpoint, **k))
go = Path(os.environ["GO_FILE"])
Path(os.environ["READY_FILE"]).touch()
while not go.exists():
    time.sleep(0.01)
raise SystemExit(main(sys.argv[1:]))
"""


def _spawn(
    team: Team, user: str, args: list[str], folder: Path, name: str, **env: str
) -> subprocess.Popen[str]:
    environment = team.env(user)
    environment.update(GO_FILE=str(folder / "go"), READY_FILE=str(folder / f"{name}.ready"))
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"process ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {path}")
        time.sleep(0.02)


def test_two_racing_promotions_leave_exactly_one_production_version(
    team: Team, tmp_path: Path
) -> None:
    for number in (1, 2):
        register(team, make_candidate(tmp_path / f"v{number}", seed=number, tier="minimal"))
    racers = [
        _spawn(
            team,
            user,
            ["promote", f"{MODEL_NAME}:{number}", "--to", "production"],
            tmp_path,
            f"racer{number}",
            CHARTER_PAUSE_AT="promotion.before_stage_change",
            CHARTER_PAUSE_SECONDS="0.7",
        )
        for number, user in ((1, "eli"), (2, "emma"))
    ]
    for number, racer in enumerate(racers, start=1):
        _wait_for(tmp_path / f"racer{number}.ready", racer)
    (tmp_path / "go").touch()
    outcomes = [racer.communicate(timeout=180) for racer in racers]
    assert [r.returncode for r in racers] == [0, 0], outcomes

    stages = {
        v.number: v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])
    }
    assert sorted(stages.values()) == ["archived", "production"]
    completed = [
        e.details for e in team.registry.audit_log(actor=team["otto"], action="promotion.completed")
    ]
    assert len(completed) == 2
    first, second = completed
    # whoever committed second saw the first one's production version and archived it
    assert first["archived"] is None and second["archived"] == first["version"]
    assert stages[second["version"]] == "production"
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_a_process_killed_inside_a_promotion_leaves_no_trace(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path / "v1", seed=1, tier="limited"))
    register(team, make_candidate(tmp_path / "v2", seed=2, tier="limited"))
    first = team.registry.request_promotion(MODEL_NAME, 1, "production", actor=team["eli"])
    team.registry.approve(first.id, actor=team["ann"])
    request = team.registry.request_promotion(MODEL_NAME, 2, "production", actor=team["eli"])
    before = snapshot(team)

    marker = tmp_path / "paused"
    victim = _spawn(
        team,
        "arno",
        ["approve", str(request.id)],
        tmp_path,
        "victim",
        CHARTER_PAUSE_AT="promotion.before_commit",
        CHARTER_PAUSE_MARKER=str(marker),
    )
    _wait_for(tmp_path / "victim.ready", victim)
    (tmp_path / "go").touch()
    _wait_for(marker, victim)  # inside the transaction: approval, archive, stage change done
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    assert snapshot(team) == before
    assert team.registry.verify_audit(actor=team["otto"]).ok
    assert team.registry.get_version(MODEL_NAME, "production", actor=team["otto"]).number == 1

    # the registry is not wedged: the same approval goes through now
    done = team.registry.approve(request.id, actor=team["arno"])
    assert done.status == "completed"
    assert {
        v.number: v.stage for v in team.registry.list_versions(MODEL_NAME, actor=team["otto"])
    } == {
        1: "archived",
        2: "production",
    }
    assert team.registry.verify_audit(actor=team["otto"]).ok


def test_processes_appending_at_once_never_fork_the_chain(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path, tier="minimal"))
    script = tmp_path / "flags.py"
    script.write_text(
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from charter.registry import Registry\n"
        "registry = Registry.open()\n"
        "actor = registry.actor_from_env()\n"
        "Path(os.environ['READY_FILE']).touch()\n"
        "while not Path(os.environ['GO_FILE']).exists():\n"
        "    time.sleep(0.01)\n"
        "for i in range(15):\n"
        "    registry.flag_version('credit-risk', 1, 'needs-review', f'{sys.argv[1]}-{i}',"
        " actor=actor)\n",
        encoding="utf-8",
    )
    writers = []
    for user in ("mo", "eli"):
        environment = team.env(user)
        environment.update(GO_FILE=str(tmp_path / "go"), READY_FILE=str(tmp_path / f"{user}.r"))
        writers.append(
            subprocess.Popen(
                [sys.executable, str(script), user],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for user, writer in zip(("mo", "eli"), writers, strict=True):
        _wait_for(tmp_path / f"{user}.r", writer)
    (tmp_path / "go").touch()
    for writer in writers:
        assert writer.wait(timeout=180) == 0, writer.communicate()
    report = team.registry.verify_audit(actor=team["otto"])
    assert report.ok
    flags = team.registry.audit_log(actor=team["otto"], action="version.flag")
    assert len(flags) == 30
    assert {e.actor for e in flags} == {"mo", "eli"}
