"""Local hours as UTC instants: the edges every interval is split at."""

from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

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
    candidates = range(first, last + 1, _QUARTER_S)
    offsets = np.fromiter(
        (_offset_s(c, tz) for c in candidates), dtype=np.int64, count=(last - first) // _QUARTER_S + 1
    )
    utc = np.arange(first, last + 1, _QUARTER_S, dtype=np.int64)
    edges: NDArray[np.float64] = utc[(utc + offsets) % 3600 == 0].astype(np.float64)
    edges.flags.writeable = False
    return edges


def _offset_s(instant: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(instant, UTC).astimezone(tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())
