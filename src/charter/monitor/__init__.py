"""Monitoring in production: drift, fairness and performance over time windows, and alerts.

Start with :func:`charter.monitor.profile.build_profile` at registration; run
:func:`charter.monitor.run.monitor` (or ``charter monitor NAME``) on the inference log.
"""

from charter.monitor.profile import ColumnKind, DataProfile, build_profile

__all__ = ["ColumnKind", "DataProfile", "build_profile"]
