"""Pure detectors: canonical readings as columns (and hourly energy, counter resets) in, alerts out.

The readings come as `ReadingColumns` (one array per field); `observe` turns them once into what the detectors
read — per (device, channel) the power, voltage and counter series as sorted numpy arrays of UTC microseconds and
values, per device the times of its messages and of its MQTT last wills — and the detectors work on those arrays
(gaps are `np.diff > limit`, episodes runs of a mask). Several readings of one quantity at one instant count once:
the latest received, then the larger value.

Every detector is deterministic: the same readings give the same alerts with the same starts, so the same
dedup keys, whatever window they were read through (as long as the window holds the sample before a
condition). `open_until` is the instant up to which the data is known to be complete — the freshness watermark, one
instant for every device or one per device (`Until`): silence at the end of a device's data is a gap or an offline
device only up to its watermark; beyond it the device is "not yet known", never offline (docs/alerts.md).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from wattline.alerts.model import SITE, Alert, AlertKind, Severity
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import NO_CHANNEL, ReadingColumns

# The instant up to which data is known to be complete: one for all devices, one per device (a device that is
# not in the mapping, or maps to None, is known only up to its own newest reading), or None (nothing is open).
Until = datetime | Mapping[str, datetime | None] | None

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
HOUR = timedelta(hours=1)
_HOUR_US: Final = 3_600_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class ResetLike(Protocol):
    """What the energy engine's `CounterReset` carries (structural, so tests and adapters can supply it)."""

    @property
    def device_id(self) -> str: ...
    @property
    def channel(self) -> int: ...
    @property
    def ts(self) -> datetime: ...
    @property
    def before_wh(self) -> float: ...
    @property
    def after_wh(self) -> float: ...


class HourlyLike(Protocol):
    """One hour of one channel: `wattline.models.HourlyEnergy` or an `energy_hourly` row."""

    @property
    def device_id(self) -> str: ...
    @property
    def channel(self) -> int: ...
    @property
    def hour_start(self) -> datetime: ...
    @property
    def mean_power_w(self) -> float | None: ...


@dataclass(frozen=True)
class _Interval:
    start: datetime
    end: datetime | None  # None: still going on at open_until
    onset: datetime | None = None  # site outages: when the first of the intersected silences began


def until_for(open_until: Until, device_id: str) -> datetime | None:
    """The watermark of one device."""
    if open_until is None or isinstance(open_until, datetime):
        return open_until
    return open_until.get(device_id)


def detect_all(
    readings: ReadingColumns,
    *,
    thresholds: Thresholds,
    tz: ZoneInfo,
    open_until: Until = None,
    resets: Iterable[ResetLike] = (),
    hourly: Sequence[HourlyLike] = (),
    history: Sequence[HourlyLike] = (),
    coverage_from: datetime | None = None,
) -> list[Alert]:
    """Every alert the readings show, sorted by (start, kind, device, channel).

    `hourly` are the hours judged against their hour-of-week baseline, built from `history`. Low coverage is
    judged only for local days inside [coverage_from, the device's watermark] (time the readings fully cover).
    Gaps and silence-offline alerts that overlap a site outage are folded into that outage.
    """
    seen = observe(readings)
    site = detect_site_outages(seen, thresholds=thresholds, tz=tz, open_until=open_until)
    alerts: list[Alert] = [*site]
    alerts += _fold(detect_gaps(seen, thresholds=thresholds, tz=tz, open_until=open_until), site, thresholds)
    alerts += _fold(detect_offline(seen, thresholds=thresholds, tz=tz, open_until=open_until), site, thresholds)
    if coverage_from is not None and open_until is not None:
        alerts += detect_low_coverage(seen, thresholds=thresholds, tz=tz, start=coverage_from, end=open_until)
    alerts += detect_voltage(seen, thresholds=thresholds, tz=tz)
    alerts += detect_over_rated(seen, thresholds=thresholds, tz=tz)
    alerts += detect_energy_mismatch(seen, thresholds=thresholds, tz=tz)
    alerts += detect_counter_resets(resets, tz=tz)
    alerts += detect_spikes(hourly, history, thresholds=thresholds, tz=tz)
    return sorted(alerts, key=sort_key)


def detect_silence(
    readings: ReadingColumns, *, thresholds: Thresholds, tz: ZoneInfo, open_until: Until = None
) -> list[Alert]:
    """Site outages and per-device offline alerts (LWT and silence), silence folded into site outages exactly as
    in `detect_all`. The near-real-time watchdog calls it with each device's newest readings, so the alerts it
    raises carry the keys the batch path computes for the same silence."""
    seen = observe(readings)
    site = detect_site_outages(seen, thresholds=thresholds, tz=tz, open_until=open_until)
    offline = _fold(detect_offline(seen, thresholds=thresholds, tz=tz, open_until=open_until), site, thresholds)
    return sorted([*site, *offline], key=sort_key)


def sort_key(alert: Alert) -> tuple[datetime, str, str, int]:
    return (alert.start, alert.kind.value, alert.device_id, -1 if alert.channel is None else alert.channel)


# --- the observed series ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One quantity of one (device, channel): strictly increasing UTC microseconds and the value at each."""

    ts: I64
    values: F64


@dataclass(frozen=True)
class Observed:
    """What the detectors read. `alive`: per device the distinct times of its messages, every reading but an MQTT
    last will (`online` false on the device level) — empty for a device that sent only last wills; `lwt`: the
    times of its last wills. Keys are sorted."""

    power: dict[tuple[str, int], Series]
    voltage: dict[tuple[str, int], Series]
    counter: dict[tuple[str, int], Series]  # energy_total_wh
    alive: dict[str, I64]
    lwt: dict[str, I64]


def observe(cols: ReadingColumns) -> Observed:
    """The series of `cols` (any row order), each quantity one value per instant."""
    names, device = cols.devices
    lwt = (cols.channel == NO_CHANNEL) & (cols.online == 0)
    return Observed(
        power=_series(names, device, cols, cols.power_w),
        voltage=_series(names, device, cols, cols.voltage_v),
        counter=_series(names, device, cols, cols.energy_total_wh),
        alive=_times(names, device, cols.ts_us, ~lwt),
        lwt=_times(names, device, cols.ts_us, lwt),
    )


def _series(names: NDArray[np.str_], device: I64, cols: ReadingColumns, values: F64) -> dict[tuple[str, int], Series]:
    rows = np.flatnonzero((cols.channel != NO_CHANNEL) & np.isfinite(values))
    dev, chan, ts, value = device[rows], cols.channel[rows], cols.ts_us[rows], values[rows]
    order = np.lexsort((value, cols.received_ms[rows], ts, chan, dev))  # the last of an instant wins
    dev, chan, ts, value = dev[order], chan[order], ts[order], value[order]
    last = np.ones(len(ts), dtype=bool)
    last[:-1] = (dev[1:] != dev[:-1]) | (chan[1:] != chan[:-1]) | (ts[1:] != ts[:-1])
    dev, chan, ts, value = dev[last], chan[last], ts[last], value[last]
    new_key = np.ones(len(ts), dtype=bool)
    new_key[1:] = (dev[1:] != dev[:-1]) | (chan[1:] != chan[:-1])
    starts = [*np.flatnonzero(new_key).tolist(), len(ts)]
    return {(str(names[dev[a]]), int(chan[a])): Series(ts[a:b], value[a:b]) for a, b in pairwise(starts)}


def _times(names: NDArray[np.str_], device: I64, ts_us: I64, keep: NDArray[np.bool_]) -> dict[str, I64]:
    """Per device (every device of `names`), the distinct times of the rows kept, sorted."""
    dev, ts = device[keep], ts_us[keep]
    order = np.lexsort((ts, dev))
    dev, ts = dev[order], ts[order]
    first = np.ones(len(ts), dtype=bool)
    first[1:] = (dev[1:] != dev[:-1]) | (ts[1:] != ts[:-1])
    dev, ts = dev[first], ts[first]
    bounds = np.searchsorted(dev, np.arange(len(names) + 1)).tolist()
    return {str(name): ts[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}


def _instant(us: int | np.integer) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _us(instant: datetime) -> int:
    return (instant - _EPOCH) // _ONE_US


def _limit_us(seconds: float) -> int:
    """A threshold in whole microseconds, as `timedelta(seconds=…)` rounds it."""
    return timedelta(seconds=seconds) // _ONE_US


def _runs(inside: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Runs of consecutive True: (first index, index after the last)."""
    edges = np.diff(np.concatenate(([0], inside.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _episodes(series: Series, inside: NDArray[np.bool_]) -> list[tuple[datetime, datetime | None, F64]]:
    """Runs of consecutive points for which `inside` holds: (first ts, ts of the first point after, values)."""
    n = len(series.ts)
    return [
        (_instant(series.ts[a]), _instant(series.ts[b]) if b < n else None, series.values[a:b])
        for a, b in _runs(inside)
    ]


# --- helpers ---------------------------------------------------------------------------------------------------


def fmt_local(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def fmt_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _where(device_id: str, channel: int | None) -> str:
    return device_id if channel is None else f"{device_id} channel {channel}"


def _span(start: datetime, end: datetime | None, tz: ZoneInfo) -> str:
    if end is None:
        return f"since {fmt_local(start, tz)} (still going on)"
    return f"from {fmt_local(start, tz)} to {fmt_local(end, tz)} ({fmt_duration((end - start).total_seconds())})"


def _explained_by(alert: Alert, outage: Alert, slack: timedelta) -> bool:
    """The alert's silence is the outage's: it began and ended (or is still going on) with it, within `slack`."""
    if abs(alert.start - outage.start) > slack:
        return False
    if alert.end is None or outage.end is None:
        return alert.end is None and outage.end is None
    return abs(alert.end - outage.end) <= slack


def _fold(alerts: list[Alert], site: list[Alert], thresholds: Thresholds) -> list[Alert]:
    """Drop per-meter silence that a site outage already explains (one alert, not one per meter). A meter that
    does not come back with the others keeps its own alert; LWT alerts are kept (the realtime path sent them)."""
    slack = timedelta(seconds=thresholds.site_onset_s)
    return [
        alert
        for alert in alerts
        if alert.details.get("reason") == "lwt" or not any(_explained_by(alert, outage, slack) for outage in site)
    ]


# --- gaps and coverage -----------------------------------------------------------------------------------------


def detect_gaps(seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo, open_until: Until = None) -> list[Alert]:
    """A gap: no power sample on a channel for longer than `gap_s`, from the last sample to the next one."""
    alerts = []
    limit = _limit_us(thresholds.gap_s)
    for (device_id, channel), series in seen.power.items():
        times = series.ts
        for i in np.flatnonzero(np.diff(times) > limit).tolist():
            alerts.append(_gap(device_id, channel, _instant(times[i]), _instant(times[i + 1]), thresholds, tz))
        until = until_for(open_until, device_id)
        if until is not None and _us(until) - int(times[-1]) > limit:
            alerts.append(_gap(device_id, channel, _instant(times[-1]), None, thresholds, tz, until))
    return alerts


def _gap(
    device_id: str,
    channel: int,
    start: datetime,
    end: datetime | None,
    thresholds: Thresholds,
    tz: ZoneInfo,
    open_until: datetime | None = None,
) -> Alert:
    seconds = ((end or open_until or start) - start).total_seconds()
    return Alert(
        kind=AlertKind.GAP,
        device_id=device_id,
        channel=channel,
        start=start,
        end=end,
        severity=Severity.WARNING,
        message=f"No power sample from {_where(device_id, channel)} {_span(start, end, tz)}.",
        details={"seconds": seconds, "threshold_s": thresholds.gap_s},
    )


def _local_days(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """Local days lying entirely inside [start, end]: (date, UTC start, UTC end)."""
    days = []
    day = start.astimezone(tz).date()
    while True:
        day_start = datetime.combine(day, time(0), tz)
        day_end = datetime.combine(day + timedelta(days=1), time(0), tz)
        if day_start >= end:
            break
        if day_start >= start and day_end <= end:
            days.append((day, day_start.astimezone(start.tzinfo), day_end.astimezone(start.tzinfo)))
        day += timedelta(days=1)
    return days


def detect_low_coverage(
    seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo, start: datetime, end: Until
) -> list[Alert]:
    """A local day whose share of time between power samples no further apart than `gap_s` is too low.

    Only local days inside [start, the device's watermark `end`] are judged; days that end before the channel's
    first sample in the readings are not.
    """
    alerts = []
    limit = _limit_us(thresholds.gap_s)
    for (device_id, channel), series in seen.power.items():
        until = until_for(end, device_id)
        if until is None:
            continue
        days = _local_days(start, until, tz)
        first, last = series.ts[:-1], series.ts[1:]
        covered = last - first <= limit
        first, last = first[covered], last[covered]
        for day, day_start, day_end in days:
            if _us(day_end) <= series.ts[0]:
                continue  # before the channel's first sample here: its silence is a gap or offline alert
            inside = np.minimum(last, _us(day_end)) - np.maximum(first, _us(day_start))
            # Added one by one in time order, as a Python sum (the covered seconds are a detail of the alert).
            seconds = sum((inside[inside > 0] / 1e6).tolist(), 0.0 if len(first) else 0)
            length = (day_end - day_start).total_seconds()
            share = seconds / length
            if share < thresholds.min_day_coverage:
                alerts.append(
                    Alert(
                        kind=AlertKind.LOW_COVERAGE,
                        device_id=device_id,
                        channel=channel,
                        start=day_start,
                        end=day_end,
                        severity=Severity.INFO,
                        message=(
                            f"{_where(device_id, channel)} covered only {share:.1%} of {day.isoformat()} "
                            f"(threshold {thresholds.min_day_coverage:.0%})."
                        ),
                        details={
                            "date": day.isoformat(),
                            "coverage": round(share, 6),
                            "covered_s": seconds,
                            "day_s": length,
                            "threshold": thresholds.min_day_coverage,
                        },
                    )
                )
    return alerts


# --- offline and outages ---------------------------------------------------------------------------------------


def _silences(times: I64, limit: int, open_until: datetime | None) -> list[tuple[int, int | None]]:
    """Intervals (µs) longer than `limit` between consecutive messages (and after the last one, up to open_until:
    end None)."""
    out: list[tuple[int, int | None]] = [
        (int(times[i]), int(times[i + 1])) for i in np.flatnonzero(np.diff(times) > limit).tolist()
    ]
    if len(times) and open_until is not None and _us(open_until) - int(times[-1]) > limit:
        out.append((int(times[-1]), None))
    return out


def detect_offline(seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo, open_until: Until = None) -> list[Alert]:
    """Offline: each LWT `online=false` (until the next other message), and each silence longer than
    `offline_s` that holds no LWT (from the last message to the next one)."""
    alerts = []
    limit = _limit_us(thresholds.offline_s)
    for device_id, alive in seen.alive.items():
        lwts = seen.lwt[device_id]
        for lwt_us, after in zip(lwts.tolist(), np.searchsorted(alive, lwts, side="right").tolist(), strict=True):
            lwt = _instant(lwt_us)
            back = _instant(alive[after]) if after < len(alive) else None
            alerts.append(
                Alert(
                    kind=AlertKind.OFFLINE,
                    device_id=device_id,
                    channel=None,
                    start=lwt,
                    end=back,
                    severity=Severity.WARNING,
                    message=f"{device_id} went offline (MQTT last will) {_span(lwt, back, tz)}.",
                    details={"reason": "lwt"},
                )
            )
        until = until_for(open_until, device_id)
        for start_us, end_us in _silences(alive, limit, until):
            following = int(np.searchsorted(lwts, start_us, side="right"))
            if following < len(lwts) and (end_us is None or lwts[following] <= end_us):
                continue  # the silence holds a last will: that alert says it
            start, end = _instant(start_us), None if end_us is None else _instant(end_us)
            seconds = ((end or until or start) - start).total_seconds()
            alerts.append(
                Alert(
                    kind=AlertKind.OFFLINE,
                    device_id=device_id,
                    channel=None,
                    start=start,
                    end=end,
                    severity=Severity.WARNING,
                    message=f"No message from {device_id} {_span(start, end, tz)}.",
                    details={"reason": "silent", "seconds": seconds, "threshold_s": thresholds.offline_s},
                )
            )
    return alerts


def _intersect(left: list[_Interval], right: list[_Interval]) -> list[_Interval]:
    far = datetime.max
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = left[i], right[j]
        a_end = a.end or far.replace(tzinfo=a.start.tzinfo)
        b_end = b.end or far.replace(tzinfo=b.start.tzinfo)
        start, end = max(a.start, b.start), min(a_end, b_end)
        if start < end:
            onset = min(a.onset or a.start, b.onset or b.start)
            out.append(_Interval(start, None if end.year == far.year else end, onset))
        if a_end < b_end:
            i += 1
        else:
            j += 1
    return out


def detect_site_outages(
    seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo, open_until: Until = None
) -> list[Alert]:
    """Every meter of the site silent at once for longer than `offline_s`: one outage for the site.

    It starts when the last meter fell silent and ends when the first one spoke again. The meters must have
    fallen silent within `site_onset_s` of each other: a meter dead for hours does not turn every other meter's
    gap into a site outage. A silence still going on is known only up to the earliest watermark of the meters.
    """
    devices = seen.alive
    if len(devices) < max(2, thresholds.site_min_devices):
        return []
    limit = _limit_us(thresholds.offline_s)
    common: list[_Interval] | None = None
    known: list[datetime] = []
    for device_id, alive in devices.items():
        until = until_for(open_until, device_id)
        known += [] if until is None else [until]
        silences = [
            _Interval(_instant(start), None if end is None else _instant(end))
            for start, end in _silences(alive, limit, until)
        ]
        common = silences if common is None else _intersect(common, silences)
    known_until = min(known) if len(known) == len(devices) else None
    alerts = []
    for interval in common or []:
        seconds = ((interval.end or known_until or interval.start) - interval.start).total_seconds()
        onset_s = (interval.start - (interval.onset or interval.start)).total_seconds()
        if seconds <= thresholds.offline_s or onset_s > thresholds.site_onset_s:
            continue  # too short, or not a common cause (a meter long dead plus another one's gap)
        alerts.append(
            Alert(
                kind=AlertKind.OUTAGE,
                device_id=SITE,
                channel=None,
                start=interval.start,
                end=interval.end,
                severity=Severity.CRITICAL,
                message=(
                    f"Every meter of the site ({len(devices)}) fell silent {_span(interval.start, interval.end, tz)}."
                ),
                details={
                    "reason": "site_silent",
                    "devices": sorted(devices),
                    "seconds": seconds,
                    "onset_spread_s": onset_s,
                },
            )
        )
    return alerts


def detect_voltage(seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo) -> list[Alert]:
    """Outage: voltage below `outage_voltage_v` (≈ 0). Voltage: outside nominal ± tolerance (EN 50160) for
    longer than `voltage_min_s`, from the first sample outside to the first sample back inside."""
    alerts = []
    low, high, zero = thresholds.voltage_low_v, thresholds.voltage_high_v, thresholds.outage_voltage_v
    for (device_id, channel), series in seen.voltage.items():
        volts = series.values
        for start, end, values in _episodes(series, volts < zero):
            alerts.append(
                Alert(
                    kind=AlertKind.OUTAGE,
                    device_id=device_id,
                    channel=channel,
                    start=start,
                    end=end,
                    severity=Severity.CRITICAL,
                    message=f"No voltage on {_where(device_id, channel)} {_span(start, end, tz)}.",
                    details={"reason": "voltage_zero", "min_voltage_v": float(values.min()), "threshold_v": zero},
                )
            )
        outside = (volts >= zero) & ~((low <= volts) & (volts <= high))
        for (start, end, values), (_, after) in zip(_episodes(series, outside), _runs(outside), strict=True):
            last_out = _instant(series.ts[after - 1])
            seconds = ((end or last_out) - start).total_seconds()
            if seconds <= thresholds.voltage_min_s:
                continue
            lowest, highest = float(values.min()), float(values.max())
            what = "sag" if lowest < low else "swell"
            alerts.append(
                Alert(
                    kind=AlertKind.VOLTAGE,
                    device_id=device_id,
                    channel=channel,
                    start=start,
                    end=end,
                    severity=Severity.WARNING,
                    message=(
                        f"Voltage {what} on {_where(device_id, channel)}: {lowest:.0f}–{highest:.0f} V, outside "
                        f"{low:.0f}–{high:.0f} V, {_span(start, end, tz)}."
                    ),
                    details={
                        "what": what,
                        "min_voltage_v": lowest,
                        "max_voltage_v": highest,
                        "low_v": low,
                        "high_v": high,
                        "seconds": seconds,
                    },
                )
            )
    return alerts


# --- power -----------------------------------------------------------------------------------------------------


def over_rated(power_w: float, rated_max_power_w: float) -> bool:
    """Shared with the near-real-time path: the same rule gives the same episodes, so the same keys."""
    return abs(power_w) > rated_max_power_w


def detect_over_rated(seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo) -> list[Alert]:
    """Power above the meter's rated maximum: from the first sample above to the first sample back below."""
    alerts = []
    rated = thresholds.rated_max_power_w
    for (device_id, channel), series in seen.power.items():
        for start, end, values in _episodes(series, np.abs(series.values) > rated):  # `over_rated`, on arrays
            peak = float(values[np.argmax(np.abs(values))])  # the first of the largest magnitude
            alerts.append(over_rated_alert(device_id, channel, start, end, peak, rated, tz))
    return alerts


def over_rated_alert(
    device_id: str,
    channel: int,
    start: datetime,
    end: datetime | None,
    peak_w: float,
    rated_max_power_w: float,
    tz: ZoneInfo,
) -> Alert:
    return Alert(
        kind=AlertKind.OVER_RATED,
        device_id=device_id,
        channel=channel,
        start=start,
        end=end,
        severity=Severity.CRITICAL,
        message=(
            f"Power on {_where(device_id, channel)} reached {peak_w:.0f} W, above the rated "
            f"{rated_max_power_w:.0f} W, {_span(start, end, tz)}."
        ),
        details={"peak_w": peak_w, "rated_max_power_w": rated_max_power_w},
    )


def hour_of_week(hour_start: datetime, tz: ZoneInfo) -> int:
    local = hour_start.astimezone(tz)
    return local.weekday() * 24 + local.hour


def robust_threshold(values: Sequence[float], *, k: float, floor_w: float) -> tuple[float, float, float]:
    """(median, MAD, threshold) with threshold = median + max(k · 1.4826 · MAD, floor)."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return median, mad, median + max(k * MAD_TO_SIGMA * mad, floor_w)


def detect_spikes(
    hourly: Sequence[HourlyLike], history: Sequence[HourlyLike], *, thresholds: Thresholds, tz: ZoneInfo
) -> list[Alert]:
    """An hour whose mean power is far above the same channel's earlier hours at the same hour of the week."""
    baseline: dict[tuple[str, int, int], list[tuple[datetime, float]]] = defaultdict(list)
    for row in history:
        if row.mean_power_w is not None:
            baseline[(row.device_id, row.channel, hour_of_week(row.hour_start, tz))].append(
                (row.hour_start, row.mean_power_w)
            )
    alerts = []
    seen: set[tuple[str, int, datetime]] = set()
    for row in hourly:
        if row.mean_power_w is None or (row.device_id, row.channel, row.hour_start) in seen:
            continue
        seen.add((row.device_id, row.channel, row.hour_start))
        how = hour_of_week(row.hour_start, tz)
        past = [v for ts, v in baseline[(row.device_id, row.channel, how)] if ts < row.hour_start]
        if len(past) < thresholds.spike_min_history:
            continue
        median, mad, limit = robust_threshold(past, k=thresholds.spike_k, floor_w=thresholds.spike_floor_w)
        if row.mean_power_w <= limit:
            continue
        alerts.append(
            Alert(
                kind=AlertKind.SPIKE,
                device_id=row.device_id,
                channel=row.channel,
                start=row.hour_start,
                end=row.hour_start + HOUR,
                severity=Severity.WARNING,
                message=(
                    f"{_where(row.device_id, row.channel)} averaged {row.mean_power_w:.0f} W in the hour from "
                    f"{fmt_local(row.hour_start, tz)}; its usual for that hour of the week is {median:.0f} W "
                    f"(alert above {limit:.0f} W)."
                ),
                details={
                    "mean_power_w": row.mean_power_w,
                    "median_w": median,
                    "mad_w": mad,
                    "threshold_w": limit,
                    "k": thresholds.spike_k,
                    "floor_w": thresholds.spike_floor_w,
                    "history_n": len(past),
                    "hour_of_week": how,
                },
            )
        )
    return alerts


def _locf_integral_wh(power: Series, start: int, end: int) -> float:
    """Imported energy over [start, end] (µs) holding each power sample until the next one (negative = export),
    the samples' shares added one by one in time order."""
    following = np.append(power.ts[1:], end)
    held = np.minimum(following, end) - np.maximum(power.ts, start)
    shares = np.maximum(power.values, 0.0) * (held / 1e6) / 3600
    return float(np.cumsum(np.append(0.0, shares[held > 0]))[-1])


def detect_energy_mismatch(seen: Observed, *, thresholds: Thresholds, tz: ZoneInfo) -> list[Alert]:
    """An hour whose power integral disagrees with its counter delta, over the span the counter covers.

    Compared only when the counter rose monotonically over at least `mismatch_min_span_s` of the hour and the
    power samples cover that span without a gap; disagreement beyond max(abs, rel · energy) is flagged.
    """
    alerts = []
    gap = _limit_us(thresholds.gap_s)
    empty = Series(np.zeros(0, np.int64), np.zeros(0, np.float64))
    for (device_id, channel), counters in seen.counter.items():
        power = seen.power.get((device_id, channel), empty)
        hours = counters.ts // _HOUR_US
        bounds = [0, *(np.flatnonzero(np.diff(hours)) + 1).tolist(), len(hours)]
        for a, b in pairwise(bounds):
            t0, t1 = int(counters.ts[a]), int(counters.ts[b - 1])
            c0, c1 = float(counters.values[a]), float(counters.values[b - 1])
            if (t1 - t0) / 1e6 < thresholds.mismatch_min_span_s:
                continue
            if bool(np.any(np.diff(counters.values[a:b]) < 0)):
                continue  # a counter reset: reported as counter_reset, not compared
            first = int(np.searchsorted(power.ts, t0, side="right")) - 1  # the sample in force at t0
            if first < 0:
                continue
            stop = int(np.searchsorted(power.ts, t1, side="right"))
            inside = Series(power.ts[first:stop], power.values[first:stop])
            if bool(np.any(np.diff(np.append(inside.ts, t1)) > gap)):
                continue
            integral = _locf_integral_wh(inside, t0, t1)
            delta = c1 - c0
            diff = integral - delta
            tolerance = max(thresholds.mismatch_abs_wh, thresholds.mismatch_rel * max(abs(delta), abs(integral)))
            if abs(diff) <= tolerance:
                continue
            hour = _instant(int(hours[a]) * _HOUR_US)
            alerts.append(
                Alert(
                    kind=AlertKind.ENERGY_MISMATCH,
                    device_id=device_id,
                    channel=channel,
                    start=hour,
                    end=hour + HOUR,
                    severity=Severity.WARNING,
                    message=(
                        f"{_where(device_id, channel)} in the hour from {fmt_local(hour, tz)}: power integral "
                        f"{integral:.0f} Wh but counter rose {delta:.0f} Wh ({diff:+.0f} Wh)."
                    ),
                    details={
                        "integral_wh": round(integral, 3),
                        "counter_delta_wh": round(delta, 3),
                        "difference_wh": round(diff, 3),
                        "tolerance_wh": round(tolerance, 3),
                        "from": _instant(t0).isoformat(),
                        "to": _instant(t1).isoformat(),
                    },
                )
            )
    return alerts


def detect_counter_resets(resets: Iterable[ResetLike], *, tz: ZoneInfo) -> list[Alert]:
    """One closed info alert per counter reset the energy engine found (never counted as negative energy)."""
    return [
        Alert(
            kind=AlertKind.COUNTER_RESET,
            device_id=reset.device_id,
            channel=reset.channel,
            start=reset.ts,
            end=reset.ts,
            severity=Severity.INFO,
            message=(
                f"Energy counter of {_where(reset.device_id, reset.channel)} went back from "
                f"{reset.before_wh:.0f} Wh to {reset.after_wh:.0f} Wh at {fmt_local(reset.ts, tz)} "
                "(device reboot or power loss); energy after it is counted from the new value."
            ),
            details={"before_wh": reset.before_wh, "after_wh": reset.after_wh},
        )
        for reset in resets
    ]


# --- daily outage summary --------------------------------------------------------------------------------------


def outage_hours_by_day(alerts: Iterable[Alert], *, tz: ZoneInfo, until: datetime) -> dict[tuple[str, str], float]:
    """Hours of outage per (device_id or '*', local date), open outages counted up to `until`."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for alert in alerts:
        if alert.kind is not AlertKind.OUTAGE:
            continue
        end = alert.end or until
        for day, day_start, day_end in _local_days(
            datetime.combine(alert.start.astimezone(tz).date(), time(0), tz),
            datetime.combine(end.astimezone(tz).date() + timedelta(days=1), time(0), tz),
            tz,
        ):
            seconds = (min(end, day_end) - max(alert.start, day_start)).total_seconds()
            if seconds > 0:
                out[(alert.device_id, day.isoformat())] += seconds / 3600
    return dict(sorted(out.items()))
