"""Which monitoring actions a policy may trigger when the monitor runs someone else's policy.

``monitoring.command``, ``monitoring.prometheus_textfile`` and ``monitoring.webhook`` come from
the policy of whoever registered the version, but they run as the monitor account — with its
credentials, on its machine. So when a run reads its policy from the registry they run only if
an admin allow-listed them (``charter monitoring allow``; a registry setting, audited):

* a command must equal, as written (``${VAR}`` references and all), a command on the list;
* a Prometheus textfile must lie inside a folder on the list;
* a webhook URL must start with a prefix on the list (compare with ``${VAR}`` as written).

A run of one's own policy file, without the registry, is one's own business: everything is
allowed. Either way commands run with a scrubbed environment: Charter's credentials
(:data:`SECRET_VARIABLES`) are removed, and a ``${VAR}`` reference to one of them is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The monitor's own secrets: never handed to a command nor expanded into a policy's value.
SECRET_VARIABLES = frozenset(
    {"CHARTER_TOKEN", "CHARTER_AUDIT_KEY", "CHARTER_DATABASE_URL", "CHARTER_SIGNING_KEY"}
)


@dataclass(frozen=True)
class ActionAllowList:
    """What an admin allowed a registered policy's monitoring actions to do.

    Attributes
    ----------
    commands
        Exact command strings (as written in policies) allowed to run.
    textfile_dirs
        Folders in which Prometheus textfiles may be written.
    webhook_prefixes
        URL prefixes webhooks may post to.
    unrestricted
        Everything is allowed: a local run of the user's own policy.
    """

    commands: tuple[str, ...] = ()
    textfile_dirs: tuple[str, ...] = ()
    webhook_prefixes: tuple[str, ...] = ()
    unrestricted: bool = field(default=False, compare=False)

    @classmethod
    def everything(cls) -> ActionAllowList:
        """The allow-list of a run of one's own policy (no registry involved)."""
        return cls(unrestricted=True)

    @classmethod
    def from_json(cls, text: str | None) -> ActionAllowList:
        """The allow-list stored as JSON in the registry (empty when nothing is stored)."""
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            commands=tuple(data.get("commands", ())),
            textfile_dirs=tuple(data.get("textfile_dirs", ())),
            webhook_prefixes=tuple(data.get("webhook_prefixes", ())),
        )

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-able form (stored, audited, printed)."""
        return {
            "commands": list(self.commands),
            "textfile_dirs": list(self.textfile_dirs),
            "webhook_prefixes": list(self.webhook_prefixes),
        }

    def merged(
        self,
        *,
        commands: Iterable[str] = (),
        textfile_dirs: Iterable[str] = (),
        webhook_prefixes: Iterable[str] = (),
        remove: bool = False,
    ) -> ActionAllowList:
        """A copy with entries added (or, with ``remove``, taken away)."""

        def change(current: tuple[str, ...], items: Iterable[str]) -> tuple[str, ...]:
            items = list(items)
            if remove:
                return tuple(c for c in current if c not in items)
            return tuple(dict.fromkeys([*current, *items]))

        dirs = [str(Path(d).expanduser().resolve()) for d in textfile_dirs]
        return ActionAllowList(
            commands=change(self.commands, commands),
            textfile_dirs=change(self.textfile_dirs, dirs),
            webhook_prefixes=change(self.webhook_prefixes, webhook_prefixes),
        )

    def command_allowed(self, command: str) -> bool:
        """Whether ``command`` (as written) may run."""
        return self.unrestricted or command in self.commands

    def textfile_allowed(self, path: str | Path) -> bool:
        """Whether a Prometheus textfile may be written at ``path``."""
        if self.unrestricted:
            return True
        target = Path(path).expanduser().resolve()
        return any(target.is_relative_to(Path(d)) for d in self.textfile_dirs)

    def webhook_allowed(self, url: str) -> bool:
        """Whether a webhook may post to ``url`` (as written)."""
        return self.unrestricted or any(url.startswith(prefix) for prefix in self.webhook_prefixes)

    def refusal(self, action: str, value: str) -> str:
        """The sentence an outcome gives when ``action`` is not allowed."""
        how = {
            "command": f"charter monitoring allow --command '{value}'",
            "prometheus": f"charter monitoring allow --textfile-dir {Path(value).parent}",
            "webhook": "charter monitoring allow --webhook-prefix https://hooks.example.com/",
        }[action]
        return (
            f"not allow-listed: a registered policy's {action} runs only when an admin allows"
            f" it ({how})"
        )


def scrubbed_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) without Charter's credentials."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k not in SECRET_VARIABLES}


def secret_references(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are Charter's own secrets."""
    return sorted({n for n in names if n in SECRET_VARIABLES})


def describe(allow: ActionAllowList) -> dict[str, Any]:
    """What ``charter monitoring allowed`` prints."""
    return allow.to_dict()
