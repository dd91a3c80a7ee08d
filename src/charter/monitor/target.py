"""Monitor a registered model version: the use case the CLI, the scheduler and the API call.

:func:`monitor_version` does it all: :func:`resolve_target` finds the version in the
registry (the production one by default, else the latest), its policy (validated and checked
against its recorded hash by :meth:`Registry.policy <charter.registry.Registry.policy>`: a
policy changed in the database stops the run before anything is computed or recorded) and its
reference profile; :func:`run_target` runs :func:`~charter.monitor.run.monitor` on the log,
writes ``evidence.json``, ``report.html`` and ``record.json`` and takes the policy's actions
(record the evidence, flag the version, webhook, Prometheus, command).

A policy file or a reference (a profile ``.json``, or data to profile) given explicitly
replaces the registry's; a model that is not registered can be monitored that way too. Every
registry read and write is made as ``actor``; without an actor nothing is recorded or flagged.

The registry is any object with the :class:`MonitoringRegistry` methods, which
:class:`charter.registry.Registry` has: monitoring sits below the registry in the layering and
does not import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from charter.errors import CharterError, DataError, NotFoundError, did_you_mean
from charter.evidence import Evidence
from charter.files import write_atomic
from charter.monitor.actions import ActionOutcome, take_actions
from charter.monitor.allowlist import ActionAllowList
from charter.monitor.profile import build_profile, profile_file
from charter.monitor.report import write_report
from charter.monitor.result import MonitorResult
from charter.monitor.run import monitor
from charter.policy import Policy, load_policy
from charter.stats.frames import read_data_file
from charter.stats.profile import DataProfile

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

#: Policy file monitoring falls back to, in the working directory, for an unregistered model.
DEFAULT_POLICY_FILE = "policy.yaml"


class MonitoringRegistry(Protocol):
    """The registry methods monitoring uses (:class:`charter.registry.Registry` has them)."""

    def get_version(self, name: str, ref: str | int = ..., *, actor: Any = ...) -> Any:
        """The version ``ref`` (number, stage or alias) of model ``name``."""
        ...

    def policy(self, name: str, ref: str | int, *, actor: Any = ...) -> Policy:
        """The version's policy, checked against its recorded hash."""
        ...

    def reference_profile(
        self, name: str, version: str | int, *, actor: Any = ...
    ) -> dict[str, Any] | None:
        """The version's stored reference profile, if any."""
        ...

    def record_monitoring(
        self, name: str, version: str | int, evidence: Evidence, *, actor: Any
    ) -> int:
        """Record monitoring evidence against the version."""
        ...

    def flag_version(
        self, name: str, version: str | int, flag: str, reason: str, *, actor: Any
    ) -> None:
        """Raise a flag on the version."""
        ...

    def monitoring_allowlist(self, *, actor: Any) -> ActionAllowList:
        """What registered policies' monitoring actions may do (an admin's setting)."""
        ...


@dataclass(frozen=True, eq=False)
class MonitorTarget:
    """What a run needs besides the log.

    Attributes
    ----------
    name
        The model's registry name.
    version
        The version monitored (its number when it is registered), or ``None``.
    policy
        Its policy.
    reference
        The reference profile the log is compared with.
    registry
        Where results are recorded, or ``None``.
    actor
        Who records them; ``None`` when nothing is recorded.
    registered
        Whether the version was found in the registry.
    allow
        What the policy's command, textfile and webhook may do: a registrant's policy (read
        from the registry) only what an admin allow-listed; one's own policy file, anything.
    """

    name: str
    version: str | None
    policy: Policy
    reference: DataProfile
    registry: MonitoringRegistry | None = None
    actor: Any = None
    registered: bool = False
    allow: ActionAllowList = field(default_factory=ActionAllowList.everything)


@dataclass(frozen=True, eq=False)
class MonitorOutcome:
    """What monitoring a version did.

    Attributes
    ----------
    result
        The run: windows, findings, evidence.
    actions
        What each action did (empty when actions were off).
    evidence_path, report_path, record_path
        The files written, when an output folder was given.
    """

    result: MonitorResult
    actions: list[ActionOutcome] = field(default_factory=list)
    evidence_path: Path | None = None
    report_path: Path | None = None
    record_path: Path | None = None

    @property
    def passed(self) -> bool:
        """True when no blocking monitoring rule failed."""
        return self.result.passed

    @property
    def exit_code(self) -> int:
        """0 when passed (warnings allowed), 1 when a blocking rule failed."""
        return 0 if self.passed else 1


def monitor_version(
    registry: MonitoringRegistry | None,
    name: str,
    *,
    actor: Any,
    log: Any,
    version: str | None = None,
    policy: Policy | str | Path | None = None,
    reference: str | Path | None = None,
    labels: Any = None,
    window: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    timestamp: str | None = None,
    engine: str = "batches",
    out: str | Path | None = None,
    actions: bool = True,
    webhook: str | None = None,
    prometheus_textfile: str | Path | None = None,
    prometheus_registry: CollectorRegistry | None = None,
    progress: Callable[[int], None] | None = None,
    system_reader: Any = None,
) -> MonitorOutcome:
    """Monitor model ``name``'s inference log, record the evidence and take the actions.

    Parameters
    ----------
    registry
        The registry (``None``: monitor without one, from ``policy`` and ``reference``).
    name
        The model's registry name.
    actor
        Who reads the registry and records the results (``None``: nothing is recorded).
    log
        The inference log: a frame, or Parquet/CSV files (a file, a directory, a glob).
    version
        Number, stage or alias; default the production version, else the latest.
    policy, reference
        Replace the registry's policy and reference (see :func:`resolve_target`).
    labels
        Delayed labels joined to the log by ``data.id_column``.
    window, since, until, timestamp, engine
        As :func:`charter.monitor.run.monitor` takes them.
    out
        Folder for ``evidence.json``, ``report.html`` and ``record.json``.
    actions
        Take the policy's actions (record, flag, webhook, Prometheus, command).
    webhook, prometheus_textfile, prometheus_registry
        Override the policy's action settings; see
        :func:`charter.monitor.actions.take_actions`.
    progress
        Called with the rows done so far.
    system_reader
        Without ``actor``, the system actor the registry is read as (the caller names itself,
        e.g. ``Actor.system("scheduler")``); nothing is recorded then.

    Raises
    ------
    DataError
        When there is no policy or no reference, or nothing can be computed from the log.
    CharterError
        When the stored policy does not match its recorded hash or does not validate, or the
        actor may not read the version.
    """
    target = resolve_target(
        name,
        registry=registry,
        actor=actor,
        version=version,
        policy=policy,
        reference=reference,
        system_reader=system_reader,
    )
    return run_target(
        target,
        log,
        labels=labels,
        window=window,
        since=since,
        until=until,
        timestamp=timestamp,
        engine=engine,
        out=out,
        actions=actions,
        webhook=webhook,
        prometheus_textfile=prometheus_textfile,
        prometheus_registry=prometheus_registry,
        progress=progress,
    )


def resolve_target(
    name: str,
    *,
    registry: MonitoringRegistry | None,
    actor: Any,
    version: str | None = None,
    policy: Policy | str | Path | None = None,
    reference: str | Path | None = None,
    system_reader: Any = None,
) -> MonitorTarget:
    """Find what a run of model ``name`` needs: its version, policy and reference.

    The policy is ``policy`` (a loaded policy or a file), else the registered version's (its
    hash checked), else ``policy.yaml`` in the working directory. The reference is
    ``reference`` (a profile ``.json``, a data file, a directory or a glob to profile), else
    the version's stored profile. Registry reads are made as ``actor``; without one, as
    ``system_reader`` (a system actor the trusted caller names, e.g.
    ``Actor.system("monitor")``), and nothing is recorded.

    Raises
    ------
    DataError
        When no policy or no reference can be found.
    """
    # without a user the run reads as the caller's system actor, and records nothing
    reader = actor if actor is not None else system_reader
    record = _find_version(registry, name, version, reader) if registry is not None else None
    chosen: Policy | None
    # a registrant's policy from the registry runs its actions only as far as an admin allowed
    allow = ActionAllowList.everything()
    if isinstance(policy, Policy):
        chosen = policy
    elif policy is not None:
        chosen = load_policy(policy)
    elif record is not None and registry is not None:
        chosen = registry.policy(name, record.number, actor=reader)
        allow = registry.monitoring_allowlist(actor=reader)
    elif Path(DEFAULT_POLICY_FILE).exists():
        chosen = load_policy(Path(DEFAULT_POLICY_FILE))
    else:
        chosen = None
    if chosen is None:
        raise DataError(
            f"no policy for {name}",
            hint="pass --policy policy.yaml, or register the model with its policy",
        )
    profile = _reference(reference, registry, record, name, chosen, reader)
    return MonitorTarget(
        name=name,
        version=str(record.number) if record is not None else version,
        policy=chosen,
        reference=profile,
        registry=registry,
        actor=actor if record is not None else None,
        registered=record is not None,
        allow=allow,
    )


def run_target(
    target: MonitorTarget,
    log: Any,
    *,
    labels: Any = None,
    window: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    timestamp: str | None = None,
    engine: str = "batches",
    out: str | Path | None = None,
    actions: bool = True,
    webhook: str | None = None,
    prometheus_textfile: str | Path | None = None,
    prometheus_registry: CollectorRegistry | None = None,
    progress: Callable[[int], None] | None = None,
) -> MonitorOutcome:
    """Run monitoring once for a resolved target: compute, write, act (see the module notes)."""
    result = monitor(
        target.name,
        log,
        policy=target.policy,
        reference=target.reference,
        version=target.version,
        window=window,
        timestamp=timestamp,
        since=since,
        until=until,
        engine=engine,
        labels=labels,
        progress=progress,
    )
    evidence_path = report_path = record_path = None
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        evidence_path = result.evidence.write(folder / "evidence.json")
        report_path = write_report(result, folder / "report.html")
        record_path = folder / "record.json"
        write_atomic(record_path, json.dumps(result.record(), indent=2).encode("utf-8"))
    outcomes: list[ActionOutcome] = []
    if actions:
        outcomes = take_actions(
            result,
            registry=target.registry,
            actor=target.actor,
            evidence_path=evidence_path,
            webhook=webhook,
            prometheus_textfile=prometheus_textfile,
            prometheus_registry=prometheus_registry,
            report_url=report_path.resolve().as_uri() if report_path is not None else None,
            allow=target.allow,
        )
    return MonitorOutcome(result, outcomes, evidence_path, report_path, record_path)


def _find_version(registry: MonitoringRegistry, name: str, version: str | None, actor: Any) -> Any:
    """The version asked for; by default the production one, else the latest, else ``None``."""
    if version is not None:
        return registry.get_version(name, version, actor=actor)
    try:
        return registry.get_version(name, "production", actor=actor)
    except NotFoundError:
        try:
            return registry.get_version(name, "latest", actor=actor)
        except NotFoundError:
            return None


def _model_names(registry: Any, actor: Any) -> list[str]:
    """The registry's model names the actor may list (none when it may not)."""
    listing = getattr(registry, "list_models", None)
    if listing is None:
        return []
    try:
        return [m.name for m in listing(actor=actor)]
    except CharterError:
        return []


def _reference(
    reference: str | Path | None,
    registry: MonitoringRegistry | None,
    record: Any,
    name: str,
    policy: Policy,
    actor: Any,
) -> DataProfile:
    bins = policy.monitoring.bins
    kinds = {k: v.kind for k, v in policy.monitoring.per_column.items() if v.kind}
    if reference is not None:
        source = Path(reference)
        if source.suffix.lower() == ".json":
            return DataProfile.read(source)
        if source.is_dir() or any(ch in str(source) for ch in "*?["):
            return profile_file(source, bins=bins, kinds=kinds)
        return build_profile(read_data_file(source), bins=bins, kinds=kinds)
    if registry is None:
        raise DataError(
            f"no reference for {name}: there is no registry here to read it from",
            hint="pass --reference (a profile .json or the training data), or run where the"
            " registry is (CHARTER_HOME / CHARTER_DATABASE_URL)",
        )
    if record is None:
        known = _model_names(registry, actor)
        guess = did_you_mean(name, known)
        raise DataError(
            f"no model '{name}' in the registry" + (f" ({guess})" if guess else ""),
            hint=(
                f"models here: {', '.join(known)}; or pass --reference (a profile .json or the"
                " training data)"
                if known
                else "register it first, or pass --reference (a profile .json or the training data)"
            ),
        )
    data = registry.reference_profile(name, record.number, actor=actor)
    if data is None:
        raise DataError(
            f"{name}:{record.number} has no reference profile",
            hint="register the version with its training data, or pass --reference",
        )
    return DataProfile.from_dict(data)
