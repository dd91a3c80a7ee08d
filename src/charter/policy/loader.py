"""Loading ``policy.yaml``: ``extends``, environment variables, validation, clear errors.

``extends:`` names one or several base policies (paths relative to the extending file). Bases
are merged first, in order, then the extending file on top: mappings merge key by key, scalars
and lists are replaced, except rule lists, which merge by rule ``id`` (a rule with the same id
replaces the base's rule; ``{id: x, remove: true}`` deletes it).

Strings may refer to environment variables as ``${NAME}`` or ``${NAME:-default}``, expanded
when the policy is read, except under the keys of :data:`DEFERRED_KEYS` (``monitoring.webhook``
and ``monitoring.command``): those typically hold secrets (a Slack webhook URL, a token in a
command), so they stay as written — in the policy the registry stores, in its hash, in evidence
— and are expanded by :func:`expand_environment` only when the action runs
(:mod:`charter.monitor.actions`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from charter.errors import CharterError, PolicyError, did_you_mean
from charter.evidence import sha256_bytes
from charter.policy.schema import SECTIONS, Policy

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MAX_EXTENDS_DEPTH = 16

#: Keys whose ``${NAME}`` references are kept at load and expanded when they are used.
DEFERRED_KEYS: frozenset[tuple[str, ...]] = frozenset(
    {("monitoring", "webhook"), ("monitoring", "command")}
)


def expand_environment(
    value: str, *, key_path: str, environ: Mapping[str, str] | None = None
) -> str:
    """Expand ``${NAME}`` and ``${NAME:-default}`` in ``value`` from the environment.

    Parameters
    ----------
    value
        A string of the policy, e.g. ``monitoring.webhook`` as stored.
    key_path
        Its dotted key in the policy (named in the error).
    environ
        The variables (default ``os.environ``).

    Returns
    -------
    str
        ``value`` with every reference replaced.

    Raises
    ------
    PolicyError
        A referenced variable is unset and has no default; the message names the variable and
        the key, never a value.
    """
    return _substitute(value, key_path=key_path, environ=environ)


def _substitute(
    value: str,
    *,
    key_path: str,
    environ: Mapping[str, str] | None = None,
    file: str | None = None,
) -> str:
    env = os.environ if environ is None else environ

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise PolicyError(
            f"environment variable {name} is not set",
            file=file,
            key_path=key_path,
            hint=f"export {name}=... where this runs, or write ${{{name}:-default}} to give a"
            " default",
        )

    return _ENV.sub(one, value)


def environment_references(value: str) -> list[str]:
    """Names of the variables ``value`` refers to without a default."""
    return [m.group(1) for m in _ENV.finditer(value) if m.group(2) is None]


def load_policy(path: str | Path, *, check_ids: bool = True) -> Policy:
    """Read, merge, validate and return the policy at ``path``.

    Parameters
    ----------
    path
        The ``policy.yaml`` to load.
    check_ids
        Also verify that every rule's check exists in its section, that its params validate,
        and that every control id is in the catalogue.

    Returns
    -------
    Policy
        With ``source`` and ``sha256`` (of the merged, canonical policy) filled in.

    Raises
    ------
    PolicyError
        Naming the file, the key path and the fix.
    """
    source = Path(path)
    merged = _load_merged(source, chain=())
    return policy_from_dict(merged, source=str(source), check_ids=check_ids)


def read_policy_document(path: str | Path) -> dict[str, Any]:
    """The merged mapping of the policy at ``path`` (``extends`` resolved, variables expanded).

    :func:`policy_from_dict` of this mapping gives the same ``sha256`` as :func:`load_policy`,
    which is how the registry stores a policy that re-validates to the hash evidence refers to.
    """
    return _load_merged(Path(path), chain=())


def policy_from_dict(
    raw: dict[str, Any], *, source: str = "<policy>", check_ids: bool = True
) -> Policy:
    """Validate an already-merged policy mapping (e.g. one stored in the registry)."""
    raw = {k: v for k, v in raw.items() if k not in ("extends", "source", "sha256")}
    digest = sha256_bytes(_canonical(raw))
    try:
        policy = Policy.model_validate({**raw, "source": source, "sha256": digest})
    except ValidationError as exc:
        raise _policy_error(exc, source) from None
    if check_ids:
        _check_rules(policy, source)
    return policy


def _canonical(raw: dict[str, Any]) -> bytes:
    import json

    return json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str).encode()


def _read_yaml(source: Path) -> dict[str, Any]:
    if not source.exists():
        raise PolicyError(
            "policy file not found", file=str(source), hint="check the path given to --policy"
        )
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(
            f"the policy is not UTF-8 text (byte {exc.start} cannot be decoded)",
            file=str(source),
            hint="save the file as UTF-8; a policy is a YAML text file",
        ) from None
    except OSError as exc:
        raise PolicyError(
            f"cannot read the policy: {exc.strerror or exc}", file=str(source)
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except DuplicateKeyError as exc:
        raise PolicyError(
            f"the key '{exc.key}' appears twice in one mapping (line {exc.first} and line"
            f" {exc.second}); YAML would silently keep only the last",
            file=str(source),
            key_path=f"line {exc.second}",
            hint="keep one of them, or merge their contents",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(
            f"not valid YAML: {problem}",
            file=str(source),
            key_path=where,
            hint="fix the YAML syntax (indentation, a missing ':' or an unclosed quote)",
        ) from None
    if data is None:
        raise PolicyError(
            "the policy is empty",
            file=str(source),
            hint="start from `charter init` or the example in examples/credit_risk/policy.yaml",
        )
    if not isinstance(data, dict):
        raise PolicyError(
            f"a policy is a mapping of sections, not a {type(data).__name__}",
            file=str(source),
            hint="start the file with keys such as 'model:' and 'fairness:'",
        )
    return _expand_env(data, source, ())


class DuplicateKeyError(yaml.YAMLError):
    """A mapping that holds the same key twice."""

    def __init__(self, key: str, first: int, second: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first, self.second = key, first, second


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping holding the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader reports it
                continue
            if first is not None:
                raise DuplicateKeyError(str(key), first, line)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expand_env(value: Any, source: Path, path: tuple[str, ...]) -> Any:
    if path in DEFERRED_KEYS:
        return value  # a secret: expanded when used, never stored expanded
    if isinstance(value, dict):
        return {k: _expand_env(v, source, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, source, (*path, f"[{i}]")) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        expanded = _substitute(value, key_path=_dotted(path), file=str(source))
        # a whole-value reference may stand for a number or a boolean
        if _ENV.fullmatch(value):
            try:
                return yaml.safe_load(expanded)
            except yaml.YAMLError:
                return expanded
        return expanded
    return value


def _load_merged(source: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    resolved = source.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise PolicyError(
            f"extends forms a cycle: {cycle}",
            file=str(source),
            key_path="extends",
            hint="remove one of the extends links",
        )
    if len(chain) >= _MAX_EXTENDS_DEPTH:
        raise PolicyError("extends is nested too deeply", file=str(source), key_path="extends")
    data = _read_yaml(source)
    bases = data.pop("extends", None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise PolicyError(
            "extends must be a path or a list of paths", file=str(source), key_path="extends"
        )
    merged: dict[str, Any] = {}
    for base in bases:
        base_path = Path(base)
        if not base_path.is_absolute():
            base_path = source.parent / base_path
        if not base_path.exists():
            raise PolicyError(
                f"base policy {base} not found (looked at {base_path})",
                file=str(source),
                key_path="extends",
                hint="paths in extends are relative to the file that extends",
            )
        merged = _merge(merged, _load_merged(base_path, (*chain, resolved)), ())
    return _merge(merged, data, ())


def _merge(base: dict[str, Any], top: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if key == "rules" and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_rules(out[key], value)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, (*path, key))
        else:
            out[key] = value
    return out


def _merge_rules(base: list[Any], top: list[Any]) -> list[Any]:
    order: list[str] = []
    by_id: dict[str, Any] = {}
    anonymous: list[Any] = []
    for rule in [*base, *top]:
        rid = rule.get("id") if isinstance(rule, dict) else None
        if not isinstance(rid, str):
            anonymous.append(rule)
            continue
        if rule.get("remove") is True:
            by_id.pop(rid, None)
            continue
        if rid not in by_id:
            order.append(rid)
        by_id[rid] = rule
    return [by_id[r] for r in order if r in by_id] + anonymous


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.startswith("["):
            out += part
        else:
            out += ("." if out else "") + str(part)
    return out


def _fields_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``path`` inside ``model`` (for "did you mean")."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [n for n in current.model_fields if n not in ("source", "sha256")]
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _policy_error(exc: ValidationError, source: str) -> PolicyError:
    lines = []
    first_path: str | None = None
    hints: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        dotted = _dotted(loc)
        first_path = first_path or dotted
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            valid = _fields_at(Policy, loc[:-1])
            if not loc[:-1]:
                valid = [*valid, "extends"]
            guess = did_you_mean(key, valid)
            msg = f"unknown key '{key}'" + (f" ({guess})" if guess else "")
            if valid:
                hints.append(
                    f"keys allowed at {_dotted(loc[:-1]) or 'the top level'}: " + ", ".join(valid)
                )
        elif kind == "missing":
            msg = "required key is missing"
            hints.append(f"add '{loc[-1]}' under {_dotted(loc[:-1]) or 'the top level'}")
        elif kind == "enum":
            expected = err.get("ctx", {}).get("expected", "")
            msg = f"{err['input']!r} is not allowed; expected {expected}"
        elif kind == "string_type" and isinstance(err.get("input"), dict | list):
            read_as = "a mapping" if isinstance(err["input"], dict) else "a list"
            msg = f"{err['msg']}; YAML read {err['input']!r} as {read_as}"
            hints.append(
                f"quote the text at {dotted}: inside [...] a comma separates items and ': '"
                ' makes a mapping, e.g. ["Trained on data: 2019-2024, approved only"]'
            )
        else:
            msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{dotted}: {msg}" if dotted else msg)
    message = "the policy does not validate:\n    " + "\n    ".join(lines)
    return PolicyError(message, file=source, hint="; ".join(dict.fromkeys(hints)) or None)


def _check_rules(policy: Policy, source: str) -> None:
    from charter.checks.registry import get_check
    from charter.policy.bounds import honoured_bounds, ignored_bounds_hint
    from charter.policy.controls import unknown_controls

    for section in SECTIONS:
        for i, rule in enumerate(getattr(policy, section).rules):
            key_path = f"{section}.rules[{i}]"
            try:
                spec = get_check(rule.check, section=section)
            except CharterError as exc:
                raise PolicyError(
                    exc.message, file=source, key_path=f"{key_path}.check", hint=exc.hint
                ) from None
            try:
                spec.parse_params(rule.params)
            except ValidationError as exc:
                detail = "; ".join(
                    f"{_dotted(tuple(e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
                )
                valid = list(spec.params.model_fields)
                raise PolicyError(
                    f"bad params for check '{rule.check}': {detail}",
                    file=source,
                    key_path=f"{key_path}.params",
                    hint=f"params of {rule.check}: {', '.join(valid) or 'none'}",
                ) from None
            ignored = sorted(b for b in ("min", "max") if getattr(rule, b) is not None)
            ignored = [b for b in ignored if b not in honoured_bounds(spec)]
            if ignored:
                raise PolicyError(
                    f"check '{rule.check}' ignores {' and '.join(ignored)}: the rule would not"
                    " mean what it says",
                    file=source,
                    key_path=f"{key_path}.{ignored[0]}",
                    hint=ignored_bounds_hint(spec),
                )
            bad = unknown_controls(rule.controls)
            if bad:
                raise PolicyError(
                    f"unknown control id(s): {', '.join(bad)}",
                    file=source,
                    key_path=f"{key_path}.controls",
                    hint="run `charter controls` to list the catalogue's ids"
                    + "".join(f"; {g}" for b in bad if (g := _control_guess(b))),
                )


def _control_guess(control_id: str) -> str | None:
    from charter.policy.controls import catalogue

    return did_you_mean(control_id, [c.id for c in catalogue()])
