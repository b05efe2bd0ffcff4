"""The public engine: readings or columns in, HourlyEnergy per (device, channel, local hour) out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattline import defaults
from wattline.energy.core import (
    F64,
    J_PER_WH,
    BoolArray,
    HourlyArrays,
    PowerSeries,
    cumulative_at,
    extremes,
    integrate_series,
    sorted_distinct,
)
from wattline.energy.counters import RESET, CounterSeries, build_counter
from wattline.energy.hours import local_hour_edges
from wattline.models import Generation, HourlyEnergy, Reading
from wattline.parsing import Row, row_from_reading
from wattline.parsing.batch import NO_CHANNEL, QUANTITIES, RowColumns

METHODS = ("auto", "counter", "trapezoid", "locf")
DEFAULT_MAX_GAP_S = defaults.MAX_GAP_S
DEFAULT_MAX_POWER_W = defaults.MAX_POWER_W
SHAPE_EPSILON_WH = 1e-12


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch inside the series with no measurement: no power interval <= max_gap and no counter interval
    <= max_gap covers it (energy a counter proves there is reported as estimated, never as measured)."""

    device_id: str
    channel: int
    start: datetime
    end: datetime
    seconds: float


@dataclass(frozen=True, slots=True)
class CounterReset:
    """A counter event. `kind` is `reset` (a decrease: `counted_wh` is what the interval contributed, the new
    value or 0 when implausible), `jump` (an increase above the plausibility limit: counted 0) or `glitch` (a single
    reading dipping below its neighbours, dropped). `counter` is `energy_total_wh` or `energy_returned_total_wh`."""

    device_id: str
    channel: int
    ts: datetime
    before_wh: float
    after_wh: float
    counted_wh: float
    kind: str = RESET
    counter: str = "energy_total_wh"


@dataclass(frozen=True, slots=True)
class EnergyResult:
    hourly: list[HourlyEnergy] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    resets: list[CounterReset] = field(default_factory=list)

    def extend(self, other: EnergyResult) -> None:
        self.hourly.extend(other.hourly)
        self.gaps.extend(other.gaps)
        self.resets.extend(other.resets)


def compute_hourly(
    readings: Iterable[Reading],
    *,
    tz: tzinfo | str,
    method: str = "auto",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    max_power_w: float = DEFAULT_MAX_POWER_W,
    window: tuple[datetime, datetime] | None = None,
) -> EnergyResult:
    """Energy per (device, channel, local hour) from canonical readings. See the package docstring and
    docs/energy.md for the rules. Readings with channel None (device-level state) are ignored.

    `window` (optional, [start, end)) keeps only hours starting inside it and clips gaps to it: pass readings
    from a little before and after a day and the day's window to get that day's hours with their boundary
    intervals integrated.
    """
    columns = EnergyColumns()
    for reading in readings:
        columns.add_reading(reading)
    return columns.compute(tz=tz, method=method, max_gap_s=max_gap_s, max_power_w=max_power_w, window=window)


class _Columns:
    """One (device, channel)'s columns, in the order they were added: ts (s), received_ms, power, the counters.
    A batch's values are copied into buffers that double when full (array.array's small growth steps moved the
    whole of each column again and again); a buffer's untouched end costs no memory."""

    __slots__ = ("_buffers", "_length", "_rows", "generation")

    _DTYPES: Final = (np.float64, np.int64, np.float64, np.float64, np.float64)

    def __init__(self) -> None:
        self._buffers: tuple[NDArray[Any], ...] = tuple(np.empty(0, dtype) for dtype in self._DTYPES)
        self._length = 0
        self._rows: list[tuple[float, int, float, float, float]] = []  # `add_row`'s, not yet in the buffers
        self.generation = Generation.GEN1

    def add_row(self, ts: float, received_ms: int, power: float, total: float, returned: float) -> None:
        self._rows.append((ts, received_ms, power, total, returned))

    def add_part(self, *columns: NDArray[Any]) -> None:
        self._rows_to_buffers()
        start, end = self._length, self._length + len(columns[0])
        if end > len(self._buffers[0]):
            capacity = max(end, 2 * len(self._buffers[0]), 1024)
            self._buffers = tuple(_grown(buffer, start, capacity) for buffer in self._buffers)
        for buffer, column in zip(self._buffers, columns, strict=True):
            buffer[start:end] = column
        self._length = end

    def _rows_to_buffers(self) -> None:
        if self._rows:
            columns = zip(*self._rows, strict=True)  # (a row's five values: a column each)
            self._rows = []
            self.add_part(*(np.array(column, dtype) for column, dtype in zip(columns, self._DTYPES, strict=True)))

    def columns(self) -> tuple[NDArray[Any], ...]:
        """(ts, received_ms, power, total, returned), as long as the rows added."""
        self._rows_to_buffers()
        return tuple(buffer[: self._length] for buffer in self._buffers)

    def __len__(self) -> int:
        return self._length + len(self._rows)


def _grown(buffer: NDArray[Any], length: int, capacity: int) -> NDArray[Any]:
    grown = np.empty(capacity, buffer.dtype)
    grown[:length] = buffer[:length]
    return grown


_NAN: Final = float("nan")
_POWER: Final = QUANTITIES.index("power_w")
_TOTAL: Final = QUANTITIES.index("energy_total_wh")
_RETURNED: Final = QUANTITIES.index("energy_returned_total_wh")


class EnergyColumns:
    """What the energy engine reads, one set of columns per (device, channel): time, receive time, power and the
    two counters (NaN where a reading did not carry the quantity), 8 bytes a value. Filled from parser rows
    (`add_row`, the batch path: no Reading object) or from Readings; readings without a channel (device state) are
    left out, as `compute_hourly` leaves them out."""

    def __init__(self) -> None:
        self._columns: dict[tuple[str, int], _Columns] = {}

    def add_row(self, row: Row) -> None:
        device_id, channel, ts_us, received_ms, generation, values = row
        if channel is None:
            return
        col = self._columns.get((device_id, channel))
        if col is None:
            col = self._columns[(device_id, channel)] = _Columns()
        col.add_row(
            ts_us / 1e6,  # == Reading.ts.timestamp(): both divide the whole microseconds, rounded once
            received_ms,
            values.get("power_w", _NAN),
            values.get("energy_total_wh", _NAN),
            values.get("energy_returned_total_wh", _NAN),
        )
        if generation is Generation.GEN2:
            col.generation = Generation.GEN2

    def add_columns(self, rows: RowColumns) -> None:
        """`add_row` of every row of a batch, a (device, channel) at a time."""
        with_channel = rows.channel != NO_CHANNEL
        if not with_channel.all():
            rows = rows.take(np.flatnonzero(with_channel))
        if not len(rows):
            return
        key = rows.device.astype(np.int64) << 32 | rows.channel
        if (key == key[0]).all():
            groups = [np.arange(len(rows))]
        else:
            order = np.argsort(key, kind="stable")  # each channel's rows keep their order
            bounds = np.flatnonzero(np.diff(key[order])) + 1
            groups = np.split(order, bounds)
        for members in groups:
            first = members[0]
            identity = (rows.devices[int(rows.device[first])], int(rows.channel[first]))
            col = self._columns.get(identity)
            if col is None:
                col = self._columns[identity] = _Columns()
            col.add_part(
                rows.ts_us[members] / 1e6,
                rows.received_ms[members].astype(np.int64),
                rows.values[members, _POWER],
                rows.values[members, _TOTAL],
                rows.values[members, _RETURNED],
            )
            if rows.gen2[members].any():
                col.generation = Generation.GEN2

    def add_reading(self, reading: Reading) -> None:
        if reading.channel is not None:
            self.add_row(row_from_reading(reading))

    def __len__(self) -> int:
        return sum(map(len, self._columns.values()))

    def compute(
        self,
        *,
        tz: tzinfo | str,
        method: str = "auto",
        max_gap_s: float = DEFAULT_MAX_GAP_S,
        max_power_w: float = DEFAULT_MAX_POWER_W,
        window: tuple[datetime, datetime] | None = None,
    ) -> EnergyResult:
        """`compute_hourly` over the columns, (device, channel) in sorted order."""
        result = EnergyResult()
        for (device_id, channel), col in sorted(self._columns.items()):
            ts, received_ms, power, total, returned = col.columns()
            result.extend(
                compute_hourly_arrays(
                    device_id,
                    channel,
                    ts,
                    power,
                    total,
                    returned,
                    generation=col.generation,
                    received_ms=received_ms,
                    tz=tz,
                    method=method,
                    max_gap_s=max_gap_s,
                    max_power_w=max_power_w,
                    window=window,
                )
            )
        return result


def resolve_power_method(method: str, generation: Generation | str) -> str:
    """The power rule a method uses: trapezoid or locf as asked; for auto and counter (which uses power only to
    place counter energy), locf for Gen2 (change-driven reports: the power stayed within the report threshold until
    the next one) and trapezoid for Gen1 (periodic samples of a continuously varying power)."""
    if method in ("trapezoid", "locf"):
        return method
    return "locf" if str(generation) == Generation.GEN2 else "trapezoid"


def compute_hourly_arrays(
    device_id: str,
    channel: int,
    ts_s: ArrayLike,
    power_w: ArrayLike | None = None,
    energy_total_wh: ArrayLike | None = None,
    energy_returned_wh: ArrayLike | None = None,
    *,
    generation: Generation | str = Generation.GEN1,
    tz: tzinfo | str,
    method: str = "auto",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    max_power_w: float = DEFAULT_MAX_POWER_W,
    received_ms: ArrayLike | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> EnergyResult:
    """The columnar fast path for one (device, channel): row i is one reading at `ts_s[i]` (Unix seconds, any
    order); NaN (or a missing column) means the reading did not carry that quantity. `received_ms` breaks ties
    between readings with equal timestamps (the later received wins)."""
    method = str(method)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if not max_gap_s > 0:
        raise ValueError("max_gap_s must be positive")
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    ts = np.asarray(ts_s, dtype=np.float64).ravel()
    n = len(ts)
    received = np.zeros(n) if received_ms is None else np.asarray(received_ms, dtype=np.float64).ravel()

    def column(values: ArrayLike | None) -> F64:
        if values is None:
            return np.full(n, np.nan)
        out = np.asarray(values, dtype=np.float64).ravel()
        if out.shape != ts.shape:
            raise ValueError("every column must have one value per timestamp")
        return out

    power_rule = resolve_power_method(method, generation)
    locf = power_rule == "locf"
    use_counters = method in ("auto", "counter")
    p_ts, p_val = _latest_per_instant(ts, received, column(power_w))
    power = PowerSeries.build(p_ts, p_val, locf=locf, max_gap_s=max_gap_s)
    counters: list[tuple[str, CounterSeries]] = []
    if use_counters:
        for name, values in (
            ("energy_total_wh", energy_total_wh),
            ("energy_returned_total_wh", energy_returned_wh),
        ):
            c_ts, c_val = _latest_per_instant(ts, received, column(values))
            counters.append((name, build_counter(c_ts, c_val, max_power_w=max_power_w)))

    observed = [series.ts for _, series in counters if len(series.ts)]
    if method != "counter" and len(power.ts):
        observed.append(power.ts)
    if not observed:
        return EnergyResult()
    span0 = min(float(arr[0]) for arr in observed)
    span1 = max(float(arr[-1]) for arr in observed)
    edges = local_hour_edges(span0, span1, zone)

    has_counter_intervals = any(len(series.ts) >= 2 for _, series in counters)
    if not has_counter_intervals and method != "counter":
        hourly = integrate_series(power, edges)
        estimated = np.zeros(len(edges) - 1)
        counter_hours = np.zeros(len(edges) - 1, dtype=bool)
        gap_starts, gap_ends = power.gap_runs()
    else:
        hourly, estimated, counter_hours, gap_starts, gap_ends = _with_counters(
            power, counters, edges, span0, span1, use_power_energy=method == "auto"
        )

    resets_per_hour = np.zeros(len(edges) - 1, dtype=np.int64)
    resets: list[CounterReset] = []
    for name, series in counters:
        is_reset = np.array([kind == RESET for kind in series.event_kind], dtype=bool)
        if is_reset.any():
            hour = np.searchsorted(edges, series.event_ts[is_reset], side="right") - 1
            np.add.at(resets_per_hour, hour, 1)
        resets.extend(
            CounterReset(
                device_id=device_id,
                channel=channel,
                ts=_utc(float(series.event_ts[i])),
                before_wh=float(series.event_before[i]),
                after_wh=float(series.event_after[i]),
                counted_wh=float(series.event_counted[i]),
                kind=series.event_kind[i],
                counter=name,
            )
            for i in range(len(series.event_kind))
        )
    resets.sort(key=lambda r: (r.ts, r.counter))

    base_name = "counter" if method == "counter" else power_rule
    rows = _rows(device_id, channel, hourly, estimated, counter_hours, resets_per_hour, base_name, power_rule)
    gaps = [
        Gap(device_id, channel, _utc(float(s)), _utc(float(e)), float(e - s))
        for s, e in zip(gap_starts, gap_ends, strict=True)
    ]
    if window is not None:
        lo, hi = window[0].astimezone(UTC), window[1].astimezone(UTC)
        rows = [row for row in rows if lo <= row.hour_start < hi]
        gaps = [
            Gap(
                device_id,
                channel,
                max(g.start, lo),
                min(g.end, hi),
                (min(g.end, hi) - max(g.start, lo)).total_seconds(),
            )
            for g in gaps
            if g.end > lo and g.start < hi
        ]
        resets = [r for r in resets if lo <= r.ts < hi]
    return EnergyResult(hourly=rows, gaps=gaps, resets=resets)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _latest_per_instant(ts: F64, received: F64, values: F64) -> tuple[F64, F64]:
    """Rows carrying a value, sorted by time, one per timestamp: the latest received wins (exact duplicates
    collapse; remaining ties are broken by the larger value so the result never depends on input order)."""
    keep = np.isfinite(values)
    if keep.all():
        t, r, v = ts, received, values
    else:
        t, r, v = ts[keep], received[keep], values[keep]
    if len(t) < 2 or bool((np.diff(t) > 0).all()):
        return t, v  # already sorted and unique: the loader's usual case
    order = np.argsort(t, kind="stable")
    t, r, v = t[order], r[order], v[order]
    tie = t[1:] == t[:-1]
    if tie.any():
        # Order only the rows that share a timestamp (they are contiguous) by received time, then value.
        involved = np.zeros(len(t), dtype=bool)
        involved[1:] |= tie
        involved[:-1] |= tie
        rows = np.flatnonzero(involved)
        by = np.lexsort((v[rows], r[rows], t[rows]))
        v[rows] = v[rows][by]
    last = np.ones(len(t), dtype=bool)
    last[:-1] = ~tie
    return t[last], v[last]


def _with_counters(
    power: PowerSeries,
    counters: list[tuple[str, CounterSeries]],
    edges: F64,
    span0: float,
    span1: float,
    *,
    use_power_energy: bool,
) -> tuple[HourlyArrays, F64, BoolArray, F64, F64]:
    """Counter-based energy placed by the power shape, power integration outside counter brackets (auto).

    The time line is cut at every counter reading, hour edge and place where power coverage starts or stops into
    segments, each inside one hour and one counter interval and either wholly covered by integrated power or not at
    all. Power energy per segment comes from the cumulative integrals at the cuts (one pass over the samples);
    counter energy is placed per segment (`_place`); per-segment results are summed per hour with np.bincount.
    """
    inner_edges = edges[(edges > span0) & (edges < span1)]
    cuts = [inner_edges, np.array([span0, span1])]
    cuts.extend(series.ts for _, series in counters)
    n = len(power.ts)
    if n:
        # Where power coverage starts or stops: so each segment is either wholly covered by power or not at all.
        gap_starts, gap_ends = power.gap_runs()
        cuts.extend((power.ts[[0, -1]], gap_starts, gap_ends))
    bounds = sorted_distinct(np.concatenate(cuts))
    bounds = bounds[(bounds >= span0) & (bounds <= span1)]
    a, b = bounds[:-1], bounds[1:]
    length = b - a
    hours = len(edges) - 1
    hour_of = np.searchsorted(edges, a, side="right") - 1

    # Power on each segment, from the cumulative integrals at the segment bounds.
    if n >= 2:
        i = np.searchsorted(power.ts, 0.5 * (a + b), side="right") - 1
        p_valid = (i >= 0) & (i < n - 1) & power.valid[np.clip(i, 0, n - 2)]
        imp_at, exp_at, _ = cumulative_at(power, bounds)
        seg_imp = np.where(p_valid, np.maximum(np.diff(imp_at), 0.0), 0.0) / J_PER_WH
        seg_exp = np.where(p_valid, np.maximum(np.diff(exp_at), 0.0), 0.0) / J_PER_WH
    else:
        p_valid = np.zeros(len(a), dtype=bool)
        seg_imp = np.zeros(len(a))
        seg_exp = np.zeros(len(a))
    p_cov = np.where(p_valid, length, 0.0)
    uncovered = length - p_cov

    energy = {"energy_total_wh": seg_imp.copy(), "energy_returned_total_wh": seg_exp.copy()}
    if not use_power_energy:
        energy = {key: np.zeros(len(a)) for key in energy}
    estimated = np.zeros(len(a))
    in_counter = np.zeros(len(a), dtype=bool)
    dense = np.zeros(len(a), dtype=bool)
    for name, series in counters:
        m = len(series.ts)
        if m < 2:
            continue
        shape = seg_imp if name == "energy_total_wh" else seg_exp
        j = np.searchsorted(series.ts, a, side="right") - 1
        jc = np.clip(j, 0, m - 2)
        c_valid = (j >= 0) & (j < m - 1) & series.valid[jc]
        placed, est = _place(series, jc, c_valid, shape, p_cov, uncovered, power.max_gap_s)
        energy[name] = np.where(c_valid, placed, energy[name])
        if name == "energy_total_wh":
            estimated += est
        in_counter |= c_valid
        dense |= c_valid & (series.duration_s[jc] <= power.max_gap_s)

    power_counts = p_valid & (in_counter | use_power_energy)
    covered = np.where(power_counts | dense, length, 0.0)
    gap = length - covered
    measured_imp = energy["energy_total_wh"] - estimated

    def per_hour(values: F64) -> F64:
        return np.bincount(hour_of, weights=values, minlength=hours)[:hours].astype(np.float64)

    covered_h = per_hour(covered)
    import_h = per_hour(measured_imp)
    export_h = per_hour(energy["energy_returned_total_wh"])
    net_j = (import_h - export_h) * J_PER_WH
    counter_hours = per_hour(in_counter.astype(np.float64)) > 0

    min_w, max_w = extremes(power, edges)
    # Distinct observation instants: the power samples plus the counter readings at other instants (few).
    readings = sorted_distinct(np.concatenate([series.ts for _, series in counters]))
    if n:
        at = np.clip(np.searchsorted(power.ts, readings), 0, n - 1)
        readings = readings[power.ts[at] != readings]
    samples = (np.diff(np.searchsorted(power.ts, edges)) + np.diff(np.searchsorted(readings, edges))).astype(np.int64)

    gap_mask = gap > 0
    padded = np.concatenate(([False], gap_mask, [False]))
    change = np.flatnonzero(padded[1:] != padded[:-1])
    gap_starts, gap_ends = a[change[0::2]], b[change[1::2] - 1]

    arrays = HourlyArrays(
        edges=edges,
        import_wh=import_h,
        export_wh=export_h,
        covered_s=covered_h,
        gap_s=per_hour(gap),
        samples=samples,
        min_power_w=min_w,
        max_power_w=max_w,
        mean_power_w=np.divide(net_j, covered_h, out=np.full(hours, np.nan), where=covered_h > 0),
    )
    return arrays, per_hour(estimated), counter_hours, gap_starts, gap_ends


def _place(
    series: CounterSeries,
    jc: np.ndarray,
    c_valid: BoolArray,
    shape: F64,
    p_cov: F64,
    uncovered: F64,
    max_gap_s: float,
) -> tuple[F64, F64]:
    """Spread each counter interval's energy over its segments.

    Within counter interval j: P = power integral (shape), U = seconds without a power interval, C = seconds with
    one. When U > 0, the uncovered part receives max(E − P, 0) linearly in time (estimated when the counter
    interval is longer than max_gap, measured otherwise); the rest is spread in proportion to the power integral,
    or linearly over the covered seconds when that integral is zero.
    """
    m = len(series.ts) - 1
    idx = jc[c_valid]

    def total(values: F64) -> F64:
        return np.bincount(idx, weights=values[c_valid], minlength=m)[:m].astype(np.float64)

    shape_j, cov_j, unc_j = total(shape), total(p_cov), total(uncovered)
    e = series.energy_wh
    to_gap = np.where(unc_j > 0, np.maximum(e - shape_j, 0.0), 0.0)
    rest = e - to_gap
    # A power integral below a pico-watt-hour is numerically nothing: place by time instead.
    has_shape = shape_j > SHAPE_EPSILON_WH
    by_shape = np.divide(rest, shape_j, out=np.zeros(m), where=has_shape)
    by_time = np.divide(rest, cov_j, out=np.zeros(m), where=~has_shape & (cov_j > 0))
    # Nothing covered and nothing uncovered cannot happen (the interval has a positive length).
    by_gap = np.divide(to_gap, unc_j, out=np.zeros(m), where=unc_j > 0)
    placed = by_shape[jc] * shape + by_time[jc] * p_cov + by_gap[jc] * uncovered
    long_interval = series.duration_s[jc] > max_gap_s
    est = np.where(c_valid & long_interval, by_gap[jc] * uncovered, 0.0)
    return placed, est


def _rows(
    device_id: str,
    channel: int,
    h: HourlyArrays,
    estimated: F64,
    counter_hours: BoolArray,
    resets_per_hour: np.ndarray,
    base_name: str,
    power_rule: str,
) -> list[HourlyEnergy]:
    """Build the rows from plain Python lists (numpy scalars are slow one by one). Values are already of the model's
    types, so the rows are constructed without re-validation."""
    hours = len(h.edges) - 1
    starts = [_utc(edge) for edge in h.edges[:-1].tolist()]
    imports = np.maximum(h.import_wh, 0.0).tolist()
    exports = np.maximum(h.export_wh, 0.0).tolist()
    estimates = np.maximum(estimated, 0.0).tolist()
    # Seconds to the microsecond: float sums of Unix-time differences carry ~1e-7 s of noise.
    covered = np.maximum(np.round(h.covered_s, 6), 0.0).tolist()
    gaps = np.maximum(np.round(h.gap_s, 6), 0.0).tolist()
    samples = h.samples.tolist()
    lows, highs, means = (_optional(values) for values in (h.min_power_w, h.max_power_w, h.mean_power_w))
    resets = resets_per_hour.tolist()
    counted = counter_hours.tolist()
    return [
        HourlyEnergy.model_construct(
            device_id=device_id,
            channel=channel,
            hour_start=starts[k],
            import_wh=imports[k],
            export_wh=exports[k],
            estimated_wh=estimates[k],
            covered_s=covered[k],
            gap_s=gaps[k],
            samples=samples[k],
            min_power_w=lows[k],
            max_power_w=highs[k],
            mean_power_w=means[k],
            counter_resets=resets[k],
            method="counter" if counted[k] else (power_rule if covered[k] > 0 else base_name),
        )
        for k in range(hours)
    ]


def _optional(values: F64) -> list[float | None]:
    """Floats, with None where the array holds NaN."""
    return [None if value != value else value for value in values.tolist()]
