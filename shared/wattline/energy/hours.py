"""Local hours as UTC instants: the edges every interval is split at."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from wattline.energy.core import sorted_distinct

# Every UTC offset in use today is a whole number of quarter hours, so every local hour starts on a UTC quarter hour.
_QUARTER_S = 900


def local_hour_edges(start_s: float, end_s: float, tz: tzinfo) -> NDArray[np.float64]:
    """UTC instants (Unix seconds) at which local hours start, from the start of the hour holding `start_s` to the
    end of the hour holding `end_s` (so the result has at least two edges and brackets both instants).

    DST is followed: a spring-forward day yields 23 edges per day, an autumn one 25; +5:30 and +5:45 zones work
    because candidates are taken every UTC quarter hour.
    """
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or end_s < start_s:
        raise ValueError(f"need finite start <= end, got {start_s!r}, {end_s!r}")
    first = (math.floor(start_s / 3600) - 2) * 3600
    last = (math.floor(end_s / 3600) + 3) * 3600
    edges = _edges_between(first, last, tz)
    lo = int(np.searchsorted(edges, start_s, side="right")) - 1
    hi = int(np.searchsorted(edges, end_s, side="right"))
    return edges[lo : hi + 1]


@lru_cache(maxsize=256)
def _edges_between(first: int, last: int, tz: tzinfo) -> NDArray[np.float64]:
    """Local hour starts in [first, last] (whole UTC hours). One offset look-up per UTC hour; the hours around an
    offset change are scanned every quarter hour."""
    hours = np.arange(first, last + 1, 3600, dtype=np.int64)
    offsets = np.fromiter((_offset_s(int(h), tz) for h in hours), dtype=np.int64, count=len(hours))
    # Within a UTC hour of constant offset the one local hour start is at H + (-offset mod 3600).
    steady = np.ones(len(hours), dtype=bool)
    steady[:-1] = offsets[:-1] == offsets[1:]
    found = [hours[steady] + (-offsets[steady]) % 3600]
    for hour in hours[~steady].tolist():
        quarters = range(hour, hour + 3600, _QUARTER_S)
        found.append(np.array([q for q in quarters if (q + _offset_s(q, tz)) % 3600 == 0], dtype=np.int64))
    starts = sorted_distinct(np.concatenate(found))
    edges: NDArray[np.float64] = starts[(starts >= first) & (starts <= last)].astype(np.float64)
    edges.flags.writeable = False
    return edges


def _offset_s(instant: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(instant, UTC).astimezone(tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())
