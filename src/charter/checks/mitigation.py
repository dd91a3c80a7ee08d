"""The record a mitigated model carries: how it was made, for the evidence of every gate run.

:func:`charter.mitigate.mitigate` sets it; the gate (:func:`charter.gate.check`) copies it into
``evidence.extras["mitigation"]``. It lives here, below both, so that neither imports the other.
"""

from __future__ import annotations

from typing import Any

#: The attribute of a mitigated model that records how it was made (saved with the model).
RECORD_ATTRIBUTE = "charter_mitigation_"


def mitigation_record(model: Any) -> dict[str, Any] | None:
    """How ``model`` was mitigated (method, parameters, source model), or ``None``.

    Parameters
    ----------
    model
        Any model; those made by :func:`charter.mitigate.mitigate` carry the record.
    """
    record = getattr(model, RECORD_ATTRIBUTE, None)
    return dict(record) if isinstance(record, dict) else None
