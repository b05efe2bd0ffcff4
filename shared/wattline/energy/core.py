"""Vectorized integration of one sorted power series over local hours (numpy; no Python loop per sample).

Everything here works on plain arrays: timestamps in Unix seconds (float64, strictly increasing), power in W
(signed: negative is export), hour edges in Unix seconds. Energy is computed in joules and returned in Wh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

J_PER_WH = 3600.0


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
    valid: BoolArray  # len(ts) - 1: 0 < dt <= max_gap

    @classmethod
    def build(cls, ts: F64, power: F64, *, locf: bool, max_gap_s: float) -> PowerSeries:
        ts = np.ascontiguousarray(ts, dtype=np.float64)
        power = np.ascontiguousarray(power, dtype=np.float64)
        if ts.shape != power.shape or ts.ndim != 1:
            raise ValueError("ts and power must be one-dimensional arrays of the same length")
        dt = np.diff(ts)
        if dt.size and not bool(np.all(dt > 0)):
            raise ValueError("ts must be strictly increasing (sort and de-duplicate first)")
        return cls(ts=ts, power=power, locf=locf, max_gap_s=max_gap_s, valid=dt <= max_gap_s)

    def gap_runs(self) -> tuple[F64, F64]:
        """Start and end of every maximal run of consecutive gap intervals."""
        invalid = ~self.valid
        if not invalid.any():
            empty = np.empty(0, dtype=np.float64)
            return empty, empty
        padded = np.concatenate(([False], invalid, [False]))
        change = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = change[0::2], change[1::2]
        return self.ts[starts], self.ts[ends]


def integrate_power(
    ts_s: F64,
    power_w: F64,
    hour_edges_s: F64,
    *,
    method: str = "trapezoid",
    max_gap_s: float = 300.0,
) -> HourlyArrays:
    """Integrate one power series over the hours delimited by `hour_edges_s` (the fast path of the engine).

    `ts_s` must be strictly increasing (Unix seconds), `power_w` signed watts, `method` "trapezoid" or "locf".
    An interval with dt <= max_gap_s is integrated, a longer one is a gap. Every interval is split exactly at
    every edge. Samples outside [edges[0], edges[-1]) are still used for the intervals that cross the edges.
    """
    if method not in ("trapezoid", "locf"):
        raise ValueError(f"integrate_power integrates power only: method must be trapezoid or locf, not {method!r}")
    series = PowerSeries.build(ts_s, power_w, locf=method == "locf", max_gap_s=max_gap_s)
    return integrate_series(series, np.ascontiguousarray(hour_edges_s, dtype=np.float64))


def integrate_series(series: PowerSeries, edges: F64) -> HourlyArrays:
    ts, power, locf = series.ts, series.power, series.locf
    hours = len(edges) - 1
    if hours < 1:
        raise ValueError("need at least two hour edges")
    n = len(ts)
    if n < 2:
        zeros = np.zeros(hours)
        extremes = _extremes(series, edges)
        samples = np.diff(np.searchsorted(ts, edges, side="left")).astype(np.int64)
        nan = np.full(hours, np.nan)
        return HourlyArrays(edges, zeros, zeros.copy(), zeros.copy(), zeros.copy(), samples, *extremes, nan)

    dt = np.diff(ts)
    all_valid = bool(series.valid.all())
    p0, p1 = power[:-1], power[1:]
    signed = bool(power.min() < 0)
    if not signed:
        area = p0 * dt if locf else (p0 + p1) * dt
        if not locf:
            area *= 0.5
        if not all_valid:
            area[~series.valid] = 0.0
        cum_imp = _cumulative(area)
        cum_exp = np.zeros(n)
    else:
        imp, exp = signed_areas(p0, p1, dt, locf=locf)
        if not all_valid:
            imp[~series.valid] = 0.0
            exp[~series.valid] = 0.0
        cum_imp, cum_exp = _cumulative(imp), _cumulative(exp)
    cum_cov = ts - ts[0] if all_valid else _cumulative(np.where(series.valid, dt, 0.0))

    # Cumulative import, export, covered seconds at every edge = value at the sample before it + the part of the
    # interval holding the edge up to the edge (an exact sub-interval integral).
    i = np.searchsorted(ts, edges, side="right") - 1
    before = i < 0
    ic = np.clip(i, 0, n - 1)
    at_imp, at_exp, at_cov = cum_imp[ic], cum_exp[ic], cum_cov[ic]
    inside = (i >= 0) & (i < n - 1)
    k = np.flatnonzero(inside)
    if k.size:
        j = i[k]
        k = k[series.valid[j]]
        j = i[k]
        t0, q0 = ts[j], power[j]
        part = edges[k] - t0
        qe = q0 if locf else q0 + (power[j + 1] - q0) * (part / dt[j])
        part_imp, part_exp = signed_areas(q0, qe, part, locf=locf)
        at_imp[k] += part_imp
        at_exp[k] += part_exp
        at_cov[k] += part
    at_imp[before] = 0.0
    at_exp[before] = 0.0
    at_cov[before] = 0.0

    span = np.clip(edges, ts[0], ts[-1]) - ts[0]
    import_j = np.diff(at_imp)
    export_j = np.diff(at_exp)
    covered = np.diff(at_cov)
    gap = np.diff(span - at_cov)
    samples = np.diff(np.searchsorted(ts, edges, side="left")).astype(np.int64)
    min_w, max_w = _extremes(series, edges)
    net = import_j - export_j
    mean = np.divide(net, covered, out=np.full(hours, np.nan), where=covered > 0)
    return HourlyArrays(
        edges=edges,
        import_wh=import_j / J_PER_WH,
        export_wh=export_j / J_PER_WH,
        covered_s=covered,
        gap_s=np.maximum(gap, 0.0),
        samples=samples,
        min_power_w=min_w,
        max_power_w=max_w,
        mean_power_w=mean,
    )


def _cumulative(values: F64) -> F64:
    out = np.empty(len(values) + 1)
    out[0] = 0.0
    np.cumsum(values, out=out[1:])
    return out


def _extremes(series: PowerSeries, edges: F64) -> tuple[F64, F64]:
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
