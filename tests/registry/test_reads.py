"""Reads for the doors: the typed audit report, streamed audit entries, cached model loads."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest
from registry_support import MODEL_NAME, Team, make_candidate, register

from charter.audit.log import export_lines
from charter.audit.verify import ChainReport
from charter.errors import CharterError, PermissionDeniedError
from charter.registry import Actor, Registry
from charter.registry.queries import ModelCache


def test_verify_audit_returns_a_frozen_typed_report(team: Team) -> None:
    report = team.registry.verify_audit(actor=team["otto"])
    assert isinstance(report, ChainReport) and dataclasses.is_dataclass(report)
    assert report.ok and report.first_broken is None
    assert report.checked == report.head_seq > 0 and len(report.head_hash) == 64
    assert report.message == f"{report.head_seq} entries verified"
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False  # type: ignore[misc]


def test_streamed_entries_are_the_log_and_export_line_by_line(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    team.registry.flag_version(MODEL_NAME, 1, "needs-review", "drift", actor=team["mo"])
    otto = team["otto"]
    stream = team.registry.stream_audit(actor=otto, model=MODEL_NAME)
    assert not isinstance(stream, list)
    streamed = list(stream)
    logged = team.registry.audit_log(actor=otto, model=MODEL_NAME)
    assert [e.hash for e in streamed] == [e.hash for e in logged]
    assert [e.action for e in streamed] == ["model.create", "version.register", "version.flag"]
    assert [e.seq for e in team.registry.stream_audit(actor=otto, limit=2)] == [1, 2]

    for fmt in ("jsonl", "csv"):
        exported = io.StringIO()
        count = team.registry.export_audit(exported, actor=otto, fmt=fmt, model=MODEL_NAME)
        lines = list(
            export_lines(team.registry.stream_audit(actor=otto, model=MODEL_NAME), fmt=fmt)
        )
        assert count == 3 and "".join(lines) == exported.getvalue()
        assert all(line.endswith("\n") for line in lines)
    rows = list(csv.DictReader(io.StringIO("".join(lines))))
    assert [int(r["seq"]) for r in rows] == [e.seq for e in logged]
    first = json.loads(next(export_lines(logged, fmt="jsonl")))
    assert first["hash"] == logged[0].hash
    assert list(export_lines([], fmt="csv")) == [
        "seq,at,actor,action,subject,model,details,alg,prev_hash,hash,request_id\r\n"
    ]


def test_a_stream_checks_its_actor_and_filters_before_reading(team: Team) -> None:
    with pytest.raises(PermissionDeniedError, match=r"audit\.read"):
        team.registry.stream_audit(actor=team["eli"])  # refused before iterating
    with pytest.raises(CharterError, match="not a date") as caught:
        team.registry.stream_audit(actor=team["otto"], since="last tuesday")
    assert caught.value.field == "since"
    with pytest.raises(CharterError, match="jsonl or csv"):
        team.registry.export_audit(io.StringIO(), actor=team["otto"], fmt="xml")


def test_a_loaded_model_is_cached_by_artifact_hash(team: Team, tmp_path: Path) -> None:
    candidate = make_candidate(tmp_path / "a")
    register(team, candidate)
    register(team, candidate)  # version 2: the same artifact bytes
    otto = team["otto"]
    cache = team.registry.queries.models
    first = team.registry.load_model(MODEL_NAME, 1, actor=otto)
    assert (cache.misses, cache.hits) == (1, 0)
    assert team.registry.load_model(MODEL_NAME, 2, actor=otto) is first
    assert team.registry.load_model(MODEL_NAME, "latest", actor=otto) is first
    assert (cache.misses, cache.hits, len(cache)) == (1, 2, 1)
    # every call is still authorised
    with pytest.raises(PermissionDeniedError):
        team.registry.load_model(MODEL_NAME, 1, actor=Actor(username="nobody"))


def test_the_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = ModelCache(2)
    loads: list[str] = []

    def loader(name: str) -> object:
        def load() -> object:
            loads.append(name)
            return object()

        return load

    a = cache.get(("a", ()), loader("a"))
    cache.get(("b", ()), loader("b"))
    assert cache.get(("a", ()), loader("a")) is a  # a is now the most recent
    cache.get(("c", ()), loader("c"))  # evicts b
    assert len(cache) == 2
    cache.get(("b", ()), loader("b"))
    assert loads == ["a", "b", "c", "b"]
    assert cache.get(("a", ()), loader("a")) is not a  # a was evicted by b
    off = ModelCache(0)
    off.get(("a", ()), loader("a"))
    assert len(off) == 0


def test_a_registry_can_keep_no_models(team: Team, tmp_path: Path) -> None:
    register(team, make_candidate(tmp_path))
    with Registry.open(team.url, artifact_store=str(team.store)) as registry:
        registry.queries.models.size = 0
        first = registry.load_model(MODEL_NAME, 1, actor=team["otto"])
        assert registry.load_model(MODEL_NAME, 1, actor=team["otto"]) is not first
