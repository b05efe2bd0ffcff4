"""The columnar detectors against a tiny reference written here: plain loops over (ts, value) tuples.

Random irregular series (millisecond jitter, gaps around the thresholds, voltage sags, swells and zeros, power
above the rating, MQTT last wills) over windows that cross a DST change of Europe/Kyiv; the input is shuffled and
partly duplicated, which must change nothing.
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alert_series import reading
from hypothesis import given, settings
from hypothesis import strategies as st

from wattline.alerts.detect import (
    HOUR,
    detect_energy_mismatch,
    detect_gaps,
    detect_low_coverage,
    detect_offline,
    detect_over_rated,
    detect_voltage,
    observe,
)
from wattline.alerts.model import Alert, AlertKind
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns
from wattline.models import Reading

KYIV = ZoneInfo("Europe/Kyiv")
TH = Thresholds(gap_s=90.0, offline_s=120.0, voltage_min_s=60.0, min_day_coverage=0.9, mismatch_min_span_s=600.0)
# Noon UTC the day before Kyiv's clocks go forward (23-hour day) and back (25-hour day).
DST_EVES = [datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 10, 24, 12, tzinfo=UTC)]
STEPS_MS = [1_000, 30_000, 60_000, 89_999, 90_000, 90_001, 120_000, 120_001, 600_000, 3_600_000, 9_000_000]
POWER = [0.0, 500.0, -300.0, 11_000.0, 11_500.0, -12_000.0]
VOLTAGE = [None, 230.0, 0.0, 5.0, 200.0, 206.9, 207.0, 253.0, 260.0]
COUNTER = [None, 1.0, 1.5, 0.0]  # Wh counted per Wh of |power| (0: the counter restarts from 0 and stays)

Row = tuple[datetime, float]

segment = st.tuples(
    st.integers(1, 60),  # samples
    st.sampled_from(STEPS_MS),  # step between them
    st.integers(0, 999),  # jitter, ms
    st.sampled_from(POWER),
    st.sampled_from(VOLTAGE),
    st.sampled_from(COUNTER),
)
channel = st.lists(segment, min_size=1, max_size=8)


@st.composite
def sites(draw: st.DrawFn) -> tuple[datetime, list[Reading]]:
    start = draw(st.sampled_from(DST_EVES)) + timedelta(hours=draw(st.integers(-12, 12)))
    readings = []
    for device in draw(st.sampled_from([["em-a"], ["em-a", "em-b"]])):
        for number in range(draw(st.integers(1, 2))):
            ts, counted = start, 1000.0
            for count, step_ms, jitter_ms, power, voltage, counter in draw(channel):
                counted = 0.0 if counter == 0.0 else counted
                for i in range(count):
                    values = {"power_w": power}
                    if voltage is not None:
                        values["voltage_v"] = voltage
                    if counter is not None:
                        values["energy_total_wh"] = round(counted, 3)
                    readings.append(reading(device, ts, number, **values))
                    step = timedelta(milliseconds=step_ms + (jitter_ms * i) % 1000)
                    counted += (counter or 0.0) * abs(power) * step.total_seconds() / 3600
                    ts += step
        for offset_s in draw(st.lists(st.integers(0, 40 * 3600), max_size=3)):
            readings.append(reading(device, start + timedelta(seconds=offset_s), None, online=False))
    return start, readings


def shuffled(readings: list[Reading], seed: int) -> ReadingColumns:
    rows = readings + readings[: seed % 7]  # some readings twice, as a redelivery leaves them
    random.Random(seed).shuffle(rows)
    return ReadingColumns.from_readings(rows)


# --- the reference ---------------------------------------------------------------------------------------------


def series(readings: list[Reading], field: str) -> dict[tuple[str, int], list[Row]]:
    out: dict[tuple[str, int], dict[datetime, float]] = {}
    for r in readings:
        value = getattr(r, field)
        if r.channel is not None and value is not None:
            out.setdefault((r.device_id, r.channel), {})[r.ts] = value
    return {key: sorted(points.items()) for key, points in sorted(out.items())}


def runs(points: list[Row], inside) -> list[tuple[datetime, datetime | None, list[float]]]:
    found: list[tuple[datetime, datetime | None, list[float]]] = []
    current: list[Row] = []
    for ts, value in points:
        if inside(value):
            current.append((ts, value))
        elif current:
            found.append((current[0][0], ts, [v for _, v in current]))
            current = []
    if current:
        found.append((current[0][0], None, [v for _, v in current]))
    return found


def reference_gaps(readings: list[Reading], until: datetime) -> list[tuple]:
    limit = timedelta(seconds=TH.gap_s)
    out = []
    for (device, channel), points in series(readings, "power_w").items():
        for (a, _), (b, _) in itertools.pairwise(points):
            if b - a > limit:
                out.append((AlertKind.GAP, device, channel, a, b, (b - a).total_seconds()))
        if until - points[-1][0] > limit:
            out.append((AlertKind.GAP, device, channel, points[-1][0], None, (until - points[-1][0]).total_seconds()))
    return out


def reference_coverage(readings: list[Reading], start: datetime, until: datetime) -> list[tuple]:
    out = []
    for (device, channel), points in series(readings, "power_w").items():
        day = start.astimezone(KYIV).date()
        while True:
            next_day = day + timedelta(days=1)
            # in UTC: a difference of two datetimes of one zone would be the wall-clock one (24 h on a DST day)
            day_start = datetime(day.year, day.month, day.day, tzinfo=KYIV).astimezone(UTC)
            day_end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=KYIV).astimezone(UTC)
            if day_start >= until:
                break
            if day_start >= start and day_end <= until and day_end > points[0][0]:
                covered = timedelta(0)
                for (a, _), (b, _) in itertools.pairwise(points):
                    if b - a <= timedelta(seconds=TH.gap_s):
                        covered += max(timedelta(0), min(b, day_end) - max(a, day_start))
                share = covered / (day_end - day_start)
                if share < TH.min_day_coverage:
                    out.append((AlertKind.LOW_COVERAGE, device, channel, day_start, day_end, round(share, 6)))
            day = next_day
    return out


def reference_offline(readings: list[Reading], until: datetime) -> list[tuple]:
    out = []
    for device in sorted({r.device_id for r in readings}):
        alive = sorted({r.ts for r in readings if r.device_id == device and not (r.channel is None and not r.online)})
        lwts = sorted({r.ts for r in readings if r.device_id == device and r.channel is None and r.online is False})
        for lwt in lwts:
            back = next((ts for ts in alive if ts > lwt), None)
            out.append((AlertKind.OFFLINE, device, None, lwt, back, "lwt"))
        silences = [(a, b) for a, b in itertools.pairwise(alive) if b - a > timedelta(seconds=TH.offline_s)]
        if alive and until - alive[-1] > timedelta(seconds=TH.offline_s):
            silences.append((alive[-1], None))
        for a, b in silences:
            if not any(a < lwt and (b is None or lwt <= b) for lwt in lwts):
                out.append((AlertKind.OFFLINE, device, None, a, b, "silent"))
    return out


def reference_voltage(readings: list[Reading]) -> list[tuple]:
    out = []
    for (device, channel), points in series(readings, "voltage_v").items():
        for start, end, values in runs(points, lambda v: v < TH.outage_voltage_v):
            out.append((AlertKind.OUTAGE, device, channel, start, end, min(values)))
        outside = runs(points, lambda v: v >= TH.outage_voltage_v and not TH.voltage_low_v <= v <= TH.voltage_high_v)
        for start, end, values in outside:
            last = max(ts for ts, _ in points if ts >= start and (end is None or ts < end))
            if ((end or last) - start).total_seconds() > TH.voltage_min_s:
                out.append((AlertKind.VOLTAGE, device, channel, start, end, (min(values), max(values))))
    return out


def reference_over_rated(readings: list[Reading]) -> list[tuple]:
    out = []
    for (device, channel), points in series(readings, "power_w").items():
        for start, end, values in runs(points, lambda p: abs(p) > TH.rated_max_power_w):
            out.append((AlertKind.OVER_RATED, device, channel, start, end, max(values, key=abs)))
    return out


def reference_mismatch(readings: list[Reading]) -> list[tuple]:
    out = []
    powers = series(readings, "power_w")
    for (device, channel), counters in series(readings, "energy_total_wh").items():
        power = powers.get((device, channel), [])
        hours: dict[datetime, list[Row]] = {}
        for ts, value in counters:
            hours.setdefault(ts.replace(minute=0, second=0, microsecond=0), []).append((ts, value))
        for hour, points in sorted(hours.items()):
            (t0, c0), (t1, c1) = points[0], points[-1]
            if (t1 - t0).total_seconds() < TH.mismatch_min_span_s:
                continue
            if any(b < a for (_, a), (_, b) in itertools.pairwise(points)):
                continue
            before = [i for i, (ts, _) in enumerate(power) if ts <= t0]
            if not before:
                continue
            inside = [(ts, p) for ts, p in power[before[-1] :] if ts <= t1]
            times = [ts for ts, _ in inside] + [t1]
            if any(b - a > timedelta(seconds=TH.gap_s) for a, b in itertools.pairwise(times)):
                continue
            integral = 0.0
            for (ts, p), following in zip(inside, times[1:], strict=True):
                a, b = max(ts, t0), min(following, t1)
                if b > a:
                    integral += max(p, 0.0) * (b - a).total_seconds() / 3600
            delta = c1 - c0
            tolerance = max(TH.mismatch_abs_wh, TH.mismatch_rel * max(abs(delta), abs(integral)))
            if abs(integral - delta) > tolerance:
                out.append((AlertKind.ENERGY_MISMATCH, device, channel, hour, hour + HOUR, round(integral, 3)))
    return out


def seen(alerts: list[Alert], detail) -> list[tuple]:
    return [(a.kind, a.device_id, a.channel, a.start, a.end, detail(a)) for a in alerts]


# --- the properties --------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(sites(), st.integers(0, 1000), st.integers(0, 48 * 3600))
def test_gaps_and_low_coverage_are_the_references(site, seed, until_s) -> None:
    # Given irregular series across a DST change, shuffled with duplicates, known up to some instant
    start, readings = site
    until = start + timedelta(seconds=until_s)
    # When the columnar detectors run
    observed = observe(shuffled(readings, seed))
    gaps = detect_gaps(observed, thresholds=TH, tz=KYIV, open_until=until)
    coverage = detect_low_coverage(observed, thresholds=TH, tz=KYIV, start=start, end=until)
    # Then they find exactly what the reference finds
    assert seen(gaps, lambda a: a.details["seconds"]) == reference_gaps(readings, until)
    assert seen(coverage, lambda a: a.details["coverage"]) == reference_coverage(readings, start, until)


@settings(max_examples=150, deadline=None)
@given(sites(), st.integers(0, 1000), st.integers(0, 48 * 3600))
def test_offline_is_the_reference(site, seed, until_s) -> None:
    start, readings = site
    until = start + timedelta(seconds=until_s)
    alerts = detect_offline(observe(shuffled(readings, seed)), thresholds=TH, tz=KYIV, open_until=until)
    assert seen(alerts, lambda a: a.details["reason"]) == reference_offline(readings, until)


@settings(max_examples=150, deadline=None)
@given(sites(), st.integers(0, 1000))
def test_voltage_and_over_rated_episodes_are_the_references(site, seed) -> None:
    _, readings = site
    observed = observe(shuffled(readings, seed))
    voltage = detect_voltage(observed, thresholds=TH, tz=KYIV)
    over = detect_over_rated(observed, thresholds=TH, tz=KYIV)

    def extremes(alert: Alert) -> object:
        d = alert.details
        return d["min_voltage_v"] if alert.kind is AlertKind.OUTAGE else (d["min_voltage_v"], d["max_voltage_v"])

    assert seen(voltage, extremes) == reference_voltage(readings)
    assert seen(over, lambda a: a.details["peak_w"]) == reference_over_rated(readings)


@settings(max_examples=150, deadline=None)
@given(sites(), st.integers(0, 1000))
def test_energy_mismatch_is_the_reference(site, seed) -> None:
    _, readings = site
    alerts = detect_energy_mismatch(observe(shuffled(readings, seed)), thresholds=TH, tz=KYIV)
    assert seen(alerts, lambda a: a.details["integral_wh"]) == reference_mismatch(readings)
