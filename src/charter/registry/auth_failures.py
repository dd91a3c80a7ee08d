"""Failed authentication is audited, at a rate that cannot flood the trail.

Every refusal is audited — including a token that is unknown, revoked or expired, or that
belongs to a disabled user. But anyone can fail to authenticate, as often as they like, so
each failure cannot cost an entry of a permanent, append-only trail. Failures are counted in
fixed windows (:data:`WINDOW_SECONDS`): the first :data:`ENTRIES_PER_WINDOW` of a window get an
``auth.failed`` entry each; the rest are only counted, and the first entry of a later window
says how many were left out (``suppressed``) and since when. A burst of a million bad tokens
costs :data:`ENTRIES_PER_WINDOW` entries per window, and the trail still tells it happened.

The counter lives in the registry's ``charter_meta`` table (key :data:`STATE_KEY`) and is
updated in the same transaction as the entry, under the audit head's lock.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

STATE_KEY = "auth_failures"
WINDOW_SECONDS = 60
ENTRIES_PER_WINDOW = 20


@dataclass(frozen=True)
class FailureWindow:
    """The current counting window."""

    start: str
    logged: int = 0
    suppressed: int = 0

    @classmethod
    def from_json(cls, text: str | None) -> FailureWindow | None:
        """The stored window, or ``None`` when none (or an unreadable one) is stored."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                start=str(data["start"]),
                logged=int(data["logged"]),
                suppressed=int(data["suppressed"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def to_json(self) -> str:
        """The form stored in ``charter_meta``."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class Admission:
    """What to do with one failure: the next state, and the entry's extra details (or none)."""

    state: FailureWindow
    log: bool
    details: dict[str, object]


def admit(
    state: FailureWindow | None,
    now: datetime,
    *,
    window: int = WINDOW_SECONDS,
    limit: int = ENTRIES_PER_WINDOW,
) -> Admission:
    """Count one failure at ``now``; say whether it gets an audit entry."""
    current = state
    details: dict[str, object] = {}
    if current is None or now - datetime.fromisoformat(current.start) >= timedelta(seconds=window):
        if current is not None and current.suppressed:
            details = {"suppressed": current.suppressed, "suppressed_since": current.start}
        current = FailureWindow(start=now.isoformat())
    if current.logged < limit:
        logged = current.logged + 1
        if logged == limit:
            details["rate_limited"] = (
                f"further failures in this {window}s window are counted, not logged"
            )
        return Admission(FailureWindow(current.start, logged, current.suppressed), True, details)
    return Admission(
        FailureWindow(current.start, current.logged, current.suppressed + 1), False, {}
    )
