"""Vectorized integration of one sorted power series over local hours (numpy; no Python loop per sample).

Everything here works on plain arrays: timestamps in Unix seconds (float64, strictly increasing), power in W
(signed: negative is export), hour edges in Unix seconds. Energy is computed in joules and returned in Wh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from wattline import defaults

F64 = NDArray[np.float64]
Number = TypeVar("Number", np.int64, np.float64)
I64 = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

J_PER_WH = 3600.0


def sorted_distinct(values: NDArray[Number]) -> NDArray[Number]:
    """`np.unique(values)` of a 1-d array without NaN (times), without the import of `numpy.ma` that the first plain
    `np.unique` call makes (~20 ms of a command: numpy looks for a masked array there)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def signed_areas(p0: F64, p1: F64, dt: F64, *, locf: bool) -> tuple[F64, F64]:
    """Import and export energy (J) of intervals of length `dt` whose power goes from p0 to p1.

    `locf` holds p0 over the interval. Otherwise power is linear; an interval whose ends have opposite signs is
    split exactly at the zero crossing: with P = max(p0,0)+max(p1,0) and S = |p0|+|p1|, the import area is
    dt·P²/(2S) and the export area dt·(S−P)²/(2S) (this reduces to the trapezoid (p0+p1)/2·dt when both ends share
    a sign, and to the two triangles when they do not).
    """
    if locf:
        return np.maximum(p0, 0.0) * dt, np.maximum(-p0, 0.0) * dt
    total = np.abs(p0) + np.abs(p1)
    positive = np.maximum(p0, 0.0) + np.maximum(p1, 0.0)
    negative = total - positive
    # P/S and (S-P)/S are in [0, 1], so nothing overflows even for denormal powers.
    share = np.divide(positive, total, out=np.zeros_like(total), where=total > 0)
    half = 0.5 * dt
    return positive * share * half, negative * (1.0 - share) * half


def power_at(ts: F64, power: F64, x: F64, *, locf: bool) -> F64:
    """Power at instants `x` inside [ts[0], ts[-1]]: held (locf) or interpolated linearly (trapezoid)."""
    if locf:
        i = np.clip(np.searchsorted(ts, x, side="right") - 1, 0, len(ts) - 1)
        return power[i]
    return np.interp(x, ts, power)


@dataclass(frozen=True, slots=True)
class HourlyArrays:
    """Per-hour results of one channel; index k is the hour [edges[k], edges[k+1])."""

    edges: F64
    import_wh: F64
    export_wh: F64
    covered_s: F64
    gap_s: F64
    samples: I64
    min_power_w: F64  # NaN where the hour has no power
    max_power_w: F64
    mean_power_w: F64  # net measured energy / covered seconds, NaN where nothing is covered


@dataclass(frozen=True, slots=True)
class PowerSeries:
    """One sorted, de-duplicated power series and the validity of each interval between consecutive samples."""

    ts: F64
    power: F64
    locf: bool
    max_gap_s: float
    dt: F64  # len(ts) - 1
    valid: BoolArray  # len(ts) - 1: dt <= max_gap
    all_valid: bool

    @classmethod
    def build(cls, ts: F64, power: F64, *, locf: bool, max_gap_s: float) -> PowerSeries:
        ts = np.ascontiguousarray(ts, dtype=np.float64)
        power = np.ascontiguousarray(power, dtype=np.float64)
        if ts.shape != power.shape or ts.ndim != 1:
            raise ValueError("ts and power must be one-dimensional arrays of the same length")
        dt = np.diff(ts)
        all_valid = True
        if dt.size:
            if not dt.min() > 0:
                raise ValueError("ts must be strictly increasing (sort and de-duplicate first)")
            all_valid = bool(dt.max() <= max_gap_s)
        valid = np.ones(dt.size, dtype=bool) if all_valid else dt <= max_gap_s
        return cls(ts=ts, power=power, locf=locf, max_gap_s=max_gap_s, dt=dt, valid=valid, all_valid=all_valid)

    def gap_runs(self) -> tuple[F64, F64]:
        """Start and end of every maximal run of consecutive gap intervals."""
        if self.all_valid:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty
        padded = np.concatenate(([False], ~self.valid, [False]))
        change = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = change[0::2], change[1::2]
        return self.ts[starts], self.ts[ends]


def integrate_power(
    ts_s: F64,
    power_w: F64,
    hour_edges_s: F64,
    *,
    method: str = "trapezoid",
    max_gap_s: float = defaults.MAX_GAP_S,
) -> HourlyArrays:
    """Integrate one power series over the hours delimited by `hour_edges_s` (the fast path of the engine).

    `ts_s` must be strictly increasing (Unix seconds), `power_w` signed watts, `method` "trapezoid" or "locf".
    An interval with dt <= max_gap_s is integrated, a longer one is a gap. Every interval is split exactly at
    every edge (the edges need not be hours: any increasing instants work). Samples outside the edges still
    count for the intervals that cross them.
    """
    if method not in ("trapezoid", "locf"):
        raise ValueError(f"integrate_power integrates power only: method must be trapezoid or locf, not {method!r}")
    series = PowerSeries.build(ts_s, power_w, locf=method == "locf", max_gap_s=max_gap_s)
    return integrate_series(series, np.ascontiguousarray(hour_edges_s, dtype=np.float64))


def integrate_series(series: PowerSeries, edges: F64) -> HourlyArrays:
    """Hourly integration of a built series: per-hour values are differences of the cumulative values at the
    edges (`cumulative_at`), so splitting at edges is exact and additive."""
    ts = series.ts
    hours = len(edges) - 1
    if hours < 1:
        raise ValueError("need at least two hour edges")
    n = len(ts)
    samples = np.diff(np.searchsorted(ts, edges, side="left")).astype(np.int64)
    min_w, max_w = extremes(series, edges)
    if n < 2:
        zeros = np.zeros(hours)
        nan = np.full(hours, np.nan)
        return HourlyArrays(edges, zeros, zeros.copy(), zeros.copy(), zeros.copy(), samples, min_w, max_w, nan)

    at_imp, at_exp, at_cov = cumulative_at(series, edges)
    span = np.clip(edges, ts[0], ts[-1]) - ts[0]
    import_j = np.diff(at_imp)
    export_j = np.diff(at_exp)
    covered = np.diff(at_cov)
    gap = np.diff(span - at_cov)
    mean = np.divide(import_j - export_j, covered, out=np.full(hours, np.nan), where=covered > 0)
    return HourlyArrays(
        edges=edges,
        import_wh=np.maximum(import_j, 0.0) / J_PER_WH,
        export_wh=np.maximum(export_j, 0.0) / J_PER_WH,
        covered_s=covered,
        gap_s=np.maximum(gap, 0.0),
        samples=samples,
        min_power_w=min_w,
        max_power_w=max_w,
        mean_power_w=mean,
    )


def cumulative_at(series: PowerSeries, x: F64) -> tuple[F64, F64, F64]:
    """Import (J), export (J) and covered seconds integrated from the first sample up to each instant of `x`
    (non-decreasing). Reads the samples once, whatever the number of instants.

    Value at x = the sum of the whole intervals before the interval holding x (prefix sums taken only at those
    indices, with np.add.reduceat: a full cumsum is several times slower) + the exact integral of that interval
    from its start to x.
    """
    ts, power, locf, dt = series.ts, series.power, series.locf, series.dt
    n = len(ts)
    if n < 2:
        return np.zeros(len(x)), np.zeros(len(x)), np.zeros(len(x))
    # i: the sample at or before each instant; q: how many whole intervals lie before the instant's interval.
    i = np.searchsorted(ts, x, side="right") - 1
    q = np.clip(i, 0, n - 1)

    # Per-interval areas in J, without the trapezoid's factor 1/2 (applied once, to the few prefix values).
    p0 = power[:-1]
    net = p0 * dt if locf else np.add(p0, power[1:])
    if not locf:
        net *= dt
    if not series.all_valid:
        net[~series.valid] = 0.0
    net_at = _prefix_at(net, q)
    if power.min() >= 0:
        imp_at = net_at
    else:
        imp = np.maximum(net, 0.0)
        if not locf:
            # Intervals whose ends have opposite signs: import and export are the triangles on each side of zero.
            mixed = np.flatnonzero((p0 < 0) != (power[1:] < 0))
            mixed = mixed[series.valid[mixed] & (power[mixed] != 0) & (power[mixed + 1] != 0)]
            pos, _ = signed_areas(power[mixed], power[mixed + 1], dt[mixed], locf=False)
            imp[mixed] = 2.0 * pos
        imp_at = _prefix_at(imp, q)
    scale = 1.0 if locf else 0.5
    at_imp = imp_at * scale
    at_exp = (imp_at - net_at) * scale
    at_cov = ts[q] - ts[0] if series.all_valid else _prefix_at(np.where(series.valid, dt, 0.0), q)

    k = np.flatnonzero((i >= 0) & (i < n - 1))
    if k.size:
        k = k[series.valid[i[k]]]
        j = i[k]
        t0, q0 = ts[j], power[j]
        part = x[k] - t0
        qe = q0 if locf else q0 + (power[j + 1] - q0) * (part / dt[j])
        part_imp, part_exp = signed_areas(q0, qe, part, locf=locf)
        at_imp[k] += part_imp
        at_exp[k] += part_exp
        at_cov[k] += part
    before = i < 0
    at_imp[before] = 0.0
    at_exp[before] = 0.0
    at_cov[before] = 0.0
    return at_imp, at_exp, at_cov


def _prefix_at(values: F64, q: I64) -> F64:
    """sum(values[:q_k]) for each k, q non-decreasing in [0, len(values)], reading `values` once (reduceat over the
    ranges between distinct q, then a cumulative sum over those few range sums)."""
    out = np.zeros(len(q))
    if len(values) == 0 or q[-1] == 0:
        return out
    distinct, inverse = np.unique(q, return_inverse=True)
    starts = np.concatenate(([0], distinct[:-1]))
    sums = np.zeros(len(distinct))
    nonempty = distinct > starts  # only the first range can be empty (when distinct[0] == 0)
    sums[nonempty] = np.add.reduceat(values[: distinct[-1]], starts[nonempty])
    return np.asarray(np.cumsum(sums)[inverse], dtype=np.float64)


def extremes(series: PowerSeries, edges: F64) -> tuple[F64, F64]:
    """Min and max power per hour: the samples in the hour plus the power at each edge an integrated interval
    crosses (interpolated or held), which is where the power function reaches its extremes inside the hour."""
    ts, power = series.ts, series.power
    hours = len(edges) - 1
    lo = np.full(hours, np.nan)
    hi = np.full(hours, np.nan)
    n = len(ts)
    if n == 0:
        return lo, hi
    starts = np.searchsorted(ts, edges, side="left")
    counts = np.diff(starts)
    filled = np.flatnonzero(counts > 0)
    if filled.size:
        lo[filled] = np.minimum.reduceat(power, starts[filled])[: filled.size]
        hi[filled] = np.maximum.reduceat(power, starts[filled])[: filled.size]
        # reduceat runs each group to the next start: groups must end where the hour ends.
        last = filled[-1]
        if starts[last + 1] < n:
            tail = slice(starts[last], starts[last + 1])
            lo[last], hi[last] = power[tail].min(), power[tail].max()
    if n >= 2:
        i = np.searchsorted(ts, edges, side="right") - 1
        crossing = (i >= 0) & (i < n - 1)
        crossing[crossing] = series.valid[i[crossing]]
        # A crossing edge bounds the hour that ends there (index e-1) and the one that starts there (index e).
        at_edge = np.full(len(edges), np.nan)
        at_edge[crossing] = power_at(ts, power, edges[crossing], locf=series.locf)
        left, right = at_edge[:-1], at_edge[1:]
        lo = np.fmin(np.fmin(lo, left), right)
        hi = np.fmax(np.fmax(hi, left), right)
    return lo, hi
