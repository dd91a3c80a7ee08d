"""The check registry: rules name checks by id; checks are registered functions.

A check is a function ``(context, rule, params) -> Finding | list[Finding]`` registered with
:func:`check`. Charter's own checks register when :mod:`charter.checks` is imported; third
parties register theirs through the ``charter.checks`` entry point group, whose targets are
imported (and so register) the first time a check id is looked up::

    # pyproject.toml of a plugin
    [project.entry-points."charter.checks"]
    acme = "acme_charter.checks"      # a module that uses @charter.checks.check(...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from charter.errors import CheckError, did_you_mean
from charter.evidence import Finding
from charter.policy.schema import Rule

ENTRY_POINT_GROUP = "charter.checks"


class NoParams(BaseModel):
    """Parameters of a check that takes none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


CheckResult = Finding | list[Finding]
#: ``(context, rule, params) -> findings``. The context is what the check's section runs on:
#: a :class:`~charter.checks.context.CheckContext` for the gate's sections, a
#: :class:`~charter.checks.monitoring.state.MonitorState` for ``monitoring``.
CheckFunction = Callable[[Any, Rule, Any], CheckResult]
F = TypeVar("F", bound=CheckFunction)


@dataclass(frozen=True)
class CheckSpec:
    """A registered check.

    Attributes
    ----------
    id
        The id rules use in ``check:``.
    section
        The policy section whose rules may use it (``data``, ``fairness``, ...).
    func
        The function computing the findings.
    params
        Pydantic model validating the rule's ``params`` (``extra="forbid"``).
    metric
        Name of the metric the check measures, or ``None`` for pass/fail checks.
    description
        One line for ``charter checks`` and the docs.
    needs
        What the context must provide: any of ``model``, ``y_true``, ``y_pred``, ``scores``,
        ``baseline``, ``sensitive``.
    controls
        Catalogue controls the check serves by default; a rule's own ``controls`` add to them.
    """

    id: str
    section: str
    func: CheckFunction
    params: type[BaseModel] = NoParams
    metric: str | None = None
    description: str = ""
    needs: frozenset[str] = field(default_factory=frozenset)
    controls: tuple[str, ...] = ()

    def parse_params(self, raw: dict[str, Any]) -> BaseModel:
        """Validate a rule's ``params`` against this check's parameter model."""
        return self.params.model_validate(raw)


_REGISTRY: dict[str, CheckSpec] = {}
_entry_points_loaded = False


def check(
    id: str,
    *,
    section: str,
    params: type[BaseModel] = NoParams,
    metric: str | None = None,
    description: str = "",
    needs: Iterable[str] = (),
    controls: Iterable[str] = (),
) -> Callable[[F], F]:
    """Register a check function under ``id``.

    Parameters
    ----------
    id
        The id rules refer to. Must be unique across Charter and its plugins.
    section
        The policy section whose rules may use the check.
    params
        Pydantic model of the check's parameters.
    metric
        Name of the metric measured, if any.
    description
        One line describing what the check verifies.
    needs
        Context requirements (``model``, ``y_true``, ``y_pred``, ``scores``, ``baseline``).
    controls
        Catalogue controls served by default.

    Examples
    --------
    >>> from charter.checks import check, NoParams
    >>> @check("always_passes", section="data", description="example")
    ... def always_passes(ctx, rule, params):
    ...     return ctx.finding(rule, passed=True, message="fine")
    """

    def register(func: F) -> F:
        existing = _REGISTRY.get(id)
        if existing is not None and existing.func is not func:
            raise CheckError(
                f"check id '{id}' is registered twice ({existing.func.__module__} and"
                f" {func.__module__})",
                hint="give the plugin's check a distinct id",
            )
        doc = (func.__doc__ or "").strip().splitlines()
        _REGISTRY[id] = CheckSpec(
            id=id,
            section=section,
            func=func,
            params=params,
            metric=metric,
            description=description or (doc[0] if doc else ""),
            needs=frozenset(needs),
            controls=tuple(controls),
        )
        return func

    return register


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            raise CheckError(
                f"the check plugin '{ep.name}' ({ep.value}) failed to load: {exc}",
                hint="fix or uninstall the plugin package",
            ) from exc


def available_checks() -> dict[str, CheckSpec]:
    """Every registered check, built-in and from plugins, by id.

    The built-in checks are registered by then: importing this module imports the
    :mod:`charter.checks` package first, whose ``__init__`` imports them.
    """
    _load_entry_points()
    return dict(_REGISTRY)


def get_check(id: str, *, section: str | None = None) -> CheckSpec:
    """The check registered as ``id``.

    Raises
    ------
    CheckError
        When no check has that id (with a "did you mean"), or it belongs to another section.
    """
    checks = available_checks()
    spec = checks.get(id)
    if spec is None:
        pool = [c.id for c in checks.values() if section is None or c.section == section]
        guess = did_you_mean(id, pool) or did_you_mean(id, checks)
        hint = guess or (
            f"checks available in {section}: {', '.join(sorted(pool))}"
            if section
            else "run `charter checks` to list them"
        )
        raise CheckError(f"unknown check '{id}'", hint=hint)
    if section is not None and spec.section != section:
        raise CheckError(
            f"check '{id}' belongs in the '{spec.section}' section, not '{section}'",
            hint=f"move the rule under {spec.section}.rules",
        )
    return spec
