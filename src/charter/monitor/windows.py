"""Time windows: ``15m``, ``1h``, ``6h``, ``1d``, ``7d``, ``1w``.

Windows are aligned to the Unix epoch in UTC (weeks start on Monday), so the same row falls in
the same window whichever engine computes it, and windows of a finer size merge exactly into
coarser ones (``1h`` into ``1d``, ``1d`` into ``1w``).

Timestamps without a time zone are taken as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import narwhals as nw
import numpy as np

from charter.errors import DataError

_SPEC = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: Monday 1970-01-05, the origin of week windows.
_WEEK_ORIGIN_SECONDS = 4 * 86400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A window size such as ``1d``.

    Attributes
    ----------
    count, unit
        ``1`` and ``d`` for ``1d``; units are ``m`` (minutes), ``h``, ``d``, ``w`` (weeks).
    """

    count: int
    unit: str

    @classmethod
    def parse(cls, spec: str | Window) -> Window:
        """Parse ``"1d"``, ``"6h"``, ``"1w"``...

        Raises
        ------
        DataError
            For anything else, with the accepted forms in the hint.
        """
        if isinstance(spec, Window):
            return spec
        match = _SPEC.match(str(spec))
        if not match or int(match.group(1)) < 1:
            raise DataError(
                f"'{spec}' is not a window size",
                hint="use a number and a unit: 15m, 1h, 6h, 1d, 7d or 1w",
            )
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    @property
    def seconds(self) -> int:
        """Length of the window in seconds."""
        return self.count * _UNIT_SECONDS[self.unit]

    @property
    def origin_seconds(self) -> int:
        """Seconds from the epoch to the origin windows are aligned on."""
        return _WEEK_ORIGIN_SECONDS if self.unit == "w" or self.seconds % (7 * 86400) == 0 else 0

    @property
    def length(self) -> timedelta:
        """Length as a timedelta."""
        return timedelta(seconds=self.seconds)

    @property
    def engine_unit(self) -> str:
        """The truncation a lazy engine groups by before windows are merged in Python."""
        if self.unit == "m":
            return "1m"
        if self.unit == "h" or self.seconds % 86400:
            return "1h"
        return "1d"

    def index_of_ns(self, ns: np.ndarray) -> np.ndarray:
        """Window index of each timestamp given as int64 nanoseconds since the epoch (UTC)."""
        width = self.seconds * 1_000_000_000
        origin = self.origin_seconds * 1_000_000_000
        return np.floor_divide(ns - origin, width)

    def start_of_index(self, index: int) -> datetime:
        """The start (UTC) of the window with index ``index``."""
        return _EPOCH + timedelta(seconds=self.origin_seconds + int(index) * self.seconds)

    def start_of(self, moment: datetime) -> datetime:
        """The start of the window that contains ``moment``."""
        seconds = (as_utc(moment) - _EPOCH).total_seconds()
        index = (seconds - self.origin_seconds) // self.seconds
        return self.start_of_index(int(index))


def as_utc(moment: datetime) -> datetime:
    """A datetime in UTC (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_time(text: str | datetime) -> datetime:
    """Parse ``--since``: ISO 8601 (``2024-03-01T06:00:00+01:00``) or a duration (``7d``)."""
    if isinstance(text, datetime):
        return as_utc(text)
    match = _SPEC.match(text)
    if match:
        return datetime.now(UTC) - Window.parse(text).length
    try:
        return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise DataError(
            f"'{text}' is not a time",
            hint="use ISO 8601 (2024-03-01 or 2024-03-01T06:00:00Z) or a duration such as 7d",
        ) from None


def timestamps_ns(series: nw.Series[Any], *, column: str) -> np.ndarray:
    """A timestamp column of an eager frame as int64 nanoseconds since the epoch (UTC).

    Nulls become ``iinfo(int64).min``.

    Raises
    ------
    DataError
        When the column is not a date or datetime.
    """
    dtype = series.dtype
    if dtype == nw.Date:
        series = series.cast(nw.Datetime("us"))
        dtype = series.dtype
    if not isinstance(dtype, nw.Datetime) and dtype != nw.Datetime:
        raise DataError(
            f"timestamp column '{column}' is {dtype}, not a date or datetime",
            hint="parse it as a datetime when writing the log, or name the right column"
            " with --timestamp",
        )
    zone = getattr(dtype, "time_zone", None)
    if zone:
        series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    values = series.to_numpy()
    if values.dtype == object:
        values = np.array(
            [np.datetime64("NaT") if v is None else np.datetime64(v, "ns") for v in values],
            dtype="datetime64[ns]",
        )
    ns = values.astype("datetime64[ns]").view(np.int64)
    return ns


NAT = np.iinfo(np.int64).min
