"""A deliberately straightforward pure-Python integration, one loop step per interval and piece.

Not used by the pipeline: it is the oracle the property tests compare the vectorized engine against, and the
baseline the benchmark measures. It follows the same rules (gap rule, zero-crossing split, hour splits).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from wattline import defaults


def integrate_reference(
    ts: Sequence[float],
    power: Sequence[float],
    edges: Sequence[float],
    *,
    method: str = "trapezoid",
    max_gap_s: float = defaults.MAX_GAP_S,
) -> list[tuple[float, float, float, float]]:
    """Per hour [edges[k], edges[k+1]): (import_wh, export_wh, covered_s, gap_s). `ts` strictly increasing."""
    hours = len(edges) - 1
    out = [[0.0, 0.0, 0.0, 0.0] for _ in range(hours)]
    locf = method == "locf"
    for i in range(len(ts) - 1):
        t0, t1, p0, p1 = ts[i], ts[i + 1], power[i], power[i + 1]
        dt = t1 - t0
        integrated = dt <= max_gap_s
        # Cut points: hour edges inside the interval, and the zero crossing (trapezoid only).
        cuts = [t0]
        k = bisect.bisect_right(edges, t0)
        while k < len(edges) and edges[k] < t1:
            cuts.append(edges[k])
            k += 1
        if not locf and p0 * p1 < 0:
            zero = t0 + dt * p0 / (p0 - p1)
            bisect.insort(cuts, zero)
        cuts.append(t1)
        for a, b in itertools.pairwise(cuts):
            if b <= a:
                continue
            hour = bisect.bisect_right(edges, a) - 1
            if hour < 0 or hour >= hours:
                continue
            row = out[hour]
            if not integrated:
                row[3] += b - a
                continue
            row[2] += b - a
            if locf:
                pa = pb = p0
            else:
                pa = p0 + (p1 - p0) * (a - t0) / dt
                pb = p0 + (p1 - p0) * (b - t0) / dt
            mid = pa + pb
            if mid > 0:
                row[0] += mid / 2 * (b - a) / 3600
            elif mid < 0:
                row[1] += -mid / 2 * (b - a) / 3600
    return [(r[0], r[1], r[2], r[3]) for r in out]
