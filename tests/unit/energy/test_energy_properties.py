"""Properties of the energy math, checked with hypothesis against closed forms and the pure-Python oracle."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wattline.energy import compute_hourly_arrays, integrate_power, local_hour_edges
from wattline.energy.reference import integrate_reference

BASE = datetime(2026, 3, 28, 20, tzinfo=UTC).timestamp()  # the evening before the Kyiv spring-forward night
KYIV = ZoneInfo("Europe/Kyiv")
METHODS = st.sampled_from(["trapezoid", "locf"])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def power_series(
    draw: st.DrawFn, min_size: int = 2, max_size: int = 60, signed: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    steps = draw(st.lists(st.floats(0.5, 900.0), min_size=min_size - 1, max_size=max_size - 1))
    ts = BASE + np.concatenate(([0.0], np.cumsum(steps)))
    ts = np.unique(np.round(ts, 3))
    low = -5000.0 if signed else 0.0
    watts = draw(st.lists(st.floats(low, 5000.0), min_size=len(ts), max_size=len(ts)))
    return ts, np.array(watts)


def edges_for(ts: np.ndarray) -> np.ndarray:
    return local_hour_edges(float(ts[0]), float(ts[-1]), KYIV)


def approx(expected: object) -> object:
    return pytest.approx(expected, rel=1e-9, abs=1e-7)


@FAST
@given(power_series(), METHODS, st.floats(30.0, 600.0))
def test_the_engine_matches_the_pure_python_oracle(
    series: tuple[np.ndarray, np.ndarray], method: str, gap: float
) -> None:
    ts, watts = series
    edges = edges_for(ts)
    # When the vectorized engine and the straightforward loop integrate the same series
    fast = integrate_power(ts, watts, edges, method=method, max_gap_s=gap)
    slow = integrate_reference(ts.tolist(), watts.tolist(), edges.tolist(), method=method, max_gap_s=gap)
    # Then every hour agrees
    assert fast.import_wh.tolist() == approx([row[0] for row in slow])
    assert fast.export_wh.tolist() == approx([row[1] for row in slow])
    assert fast.covered_s.tolist() == approx([row[2] for row in slow])
    assert fast.gap_s.tolist() == approx([row[3] for row in slow])


@FAST
@given(power_series(), METHODS, st.floats(0.0, 1.0))
def test_energy_is_additive_over_any_split_point(
    series: tuple[np.ndarray, np.ndarray], method: str, where: float
) -> None:
    ts, watts = series
    lo, hi = float(ts[0]) - 10, float(ts[-1]) + 10
    split = lo + (hi - lo) * where
    assume(lo < split < hi)
    whole = integrate_power(ts, watts, np.array([lo, hi]), method=method)
    parts = integrate_power(ts, watts, np.array([lo, split, hi]), method=method)
    assert parts.import_wh.sum() == approx(whole.import_wh[0])
    assert parts.export_wh.sum() == approx(whole.export_wh[0])
    assert parts.covered_s.sum() == approx(whole.covered_s[0])


@FAST
@given(power_series(max_size=80), METHODS, st.floats(-3000.0, 3000.0))
def test_constant_power_gives_power_times_covered_time_in_every_hour(
    series: tuple[np.ndarray, np.ndarray], method: str, watts: float
) -> None:
    ts, _ = series
    result = integrate_power(ts, np.full(len(ts), watts), edges_for(ts), method=method, max_gap_s=1000.0)
    # every step is at most 900 s, so everything between the first and last sample is covered
    net = result.import_wh - result.export_wh
    assert net.tolist() == approx((watts * result.covered_s / 3600).tolist())
    assert result.covered_s.sum() == approx(ts[-1] - ts[0])


def _ramp_integral(alpha: float, beta: float, a: float, b: float) -> tuple[float, float]:
    """Exact import and export (J) of p(t) = alpha + beta·t over [a, b]."""

    def pos(x0: float, x1: float) -> float:
        return alpha * (x1 - x0) + beta * (x1 * x1 - x0 * x0) / 2

    if beta == 0:
        value = alpha * (b - a)
        return max(value, 0.0), max(-value, 0.0)
    zero = -alpha / beta
    if a < zero < b:
        first, second = pos(a, zero), pos(zero, b)
        return max(first, 0) + max(second, 0), max(-first, 0) + max(-second, 0)
    value = pos(a, b)
    return max(value, 0.0), max(-value, 0.0)


@FAST
@given(power_series(), st.floats(-3000.0, 3000.0), st.floats(-1.0, 1.0))
def test_the_trapezoid_is_exact_for_linearly_ramping_power(
    series: tuple[np.ndarray, np.ndarray], alpha: float, beta: float
) -> None:
    ts, _ = series
    rel = ts - ts[0]
    edges = edges_for(ts)
    result = integrate_power(ts, alpha + beta * rel, edges, method="trapezoid", max_gap_s=1000.0)
    for k in range(len(edges) - 1):
        a = max(edges[k], ts[0]) - ts[0]
        b = min(edges[k + 1], ts[-1]) - ts[0]
        imp, exp = _ramp_integral(alpha, beta, a, b) if b > a else (0.0, 0.0)
        assert result.import_wh[k] == pytest.approx(imp / 3600, rel=1e-7, abs=1e-6)
        assert result.export_wh[k] == pytest.approx(exp / 3600, rel=1e-7, abs=1e-6)


@st.composite
def channel_columns(draw: st.DrawFn) -> dict[str, np.ndarray]:
    ts, watts = draw(power_series(max_size=40))
    n = len(ts)
    has_power = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    has_counter = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    increments = np.array(draw(st.lists(st.floats(0.0, 50.0), min_size=n, max_size=n)))
    return {
        "ts": ts,
        "power": np.where(has_power, watts, np.nan),
        "total": np.where(has_counter, 1000.0 + np.cumsum(increments), np.nan),
    }


def _run(cols: dict[str, np.ndarray], method: str) -> list[tuple[object, ...]]:
    result = compute_hourly_arrays(
        "d", 0, cols["ts"], cols["power"], cols["total"], None, tz=KYIV, method=method, generation="gen1"
    )
    return [
        (r.hour_start, r.import_wh, r.export_wh, r.estimated_wh, r.covered_s, r.gap_s, r.samples, r.method)
        for r in result.hourly
    ]


@FAST
@given(channel_columns(), st.sampled_from(["auto", "counter", "trapezoid", "locf"]), st.randoms(use_true_random=False))
def test_shuffling_and_duplicating_the_input_changes_nothing(
    cols: dict[str, np.ndarray], method: str, rnd: object
) -> None:
    expected = _run(cols, method)
    n = len(cols["ts"])
    order = np.array(rnd.sample(range(n), n) + rnd.choices(range(n), k=n // 2 + 1))  # type: ignore[attr-defined]
    shuffled = {key: values[order] for key, values in cols.items()}
    actual = _run(shuffled, method)
    assert [row[0] for row in actual] == [row[0] for row in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got[1:6] == approx(want[1:6])
        assert got[6:] == want[6:]


@FAST
@given(channel_columns())
def test_auto_never_loses_or_invents_counter_energy(cols: dict[str, np.ndarray]) -> None:
    total = cols["total"][np.isfinite(cols["total"])]
    assume(len(total) >= 2)
    # Given power samples only inside the counter bracket, so the whole span is counter-based
    counter_ts = cols["ts"][np.isfinite(cols["total"])]
    inside = (cols["ts"] >= counter_ts[0]) & (cols["ts"] <= counter_ts[-1])
    power = np.where(inside, cols["power"], np.nan)
    # (and a plausibility limit no random series reaches)
    result = compute_hourly_arrays(
        "d", 0, cols["ts"], power, cols["total"], None, tz=KYIV, generation="gen1", max_power_w=1e12
    )
    placed = sum(r.import_wh + r.estimated_wh for r in result.hourly)
    assert placed == approx(float(total[-1] - total[0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(0.0, 1e6), st.just(-1.0)), min_size=2, max_size=30), st.floats(1.0, 600.0))
def test_counter_energy_is_never_negative(values: list[float], step: float) -> None:
    ts = BASE + step * np.arange(len(values))
    result = compute_hourly_arrays("d", 0, ts, None, np.array(values), None, tz=KYIV, method="counter")
    assert all(r.import_wh >= 0 and r.estimated_wh >= 0 for r in result.hourly)


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_every_kyiv_local_day_has_as_many_hours_as_its_length(day: date) -> None:
    start = datetime.combine(day, time(), tzinfo=KYIV).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=KYIV).astimezone(UTC)
    edges = local_hour_edges(start.timestamp(), end.timestamp() - 1, KYIV)
    assert len(edges) - 1 == round((end - start).total_seconds() / 3600)
    assert edges[0] == start.timestamp() and edges[-1] == end.timestamp()


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25), ("2026-11-27", 24)])
def test_a_constant_load_on_a_dst_day_uses_the_local_day_length(day: str, hours: int) -> None:
    local = date.fromisoformat(day)
    start = datetime.combine(local, time(), tzinfo=KYIV).timestamp()
    end = datetime.combine(local + timedelta(days=1), time(), tzinfo=KYIV).timestamp()
    ts = np.arange(start, end + 1, 10.0)
    result = integrate_power(ts, np.full(len(ts), 500.0), local_hour_edges(start, end - 1, KYIV))
    assert len(result.import_wh) == hours
    assert result.import_wh.sum() == approx(500.0 * hours)


@FAST
@given(channel_columns())
def test_auto_with_only_rejected_counter_intervals_equals_power_integration(cols: dict[str, np.ndarray]) -> None:
    # Given counters whose every interval is implausible (a 1 µW limit), so auto must fall back to power everywhere
    power_only = compute_hourly_arrays("d", 0, cols["ts"], cols["power"], None, None, tz=KYIV, method="trapezoid")
    jumps = np.where(np.isfinite(cols["total"]), np.arange(len(cols["ts"])) * 1e6, np.nan)
    mixed = compute_hourly_arrays(
        "d", 0, cols["ts"], cols["power"], jumps, None, tz=KYIV, method="auto", max_power_w=1e-6
    )
    by_hour = {r.hour_start: r for r in mixed.hourly}
    for row in power_only.hourly:
        other = by_hour[row.hour_start]
        assert (other.import_wh, other.export_wh, other.covered_s) == approx(
            (row.import_wh, row.export_wh, row.covered_s)
        )


def _quarter_hour_scan(first: int, last: int, zone: ZoneInfo) -> list[int]:
    """Every UTC quarter hour whose local time is a whole hour (the slow, obvious definition)."""
    out = []
    for instant in range(first, last + 1, 900):
        offset = datetime.fromtimestamp(instant, UTC).astimezone(zone).utcoffset()
        assert offset is not None
        if (instant + int(offset.total_seconds())) % 3600 == 0:
            out.append(instant)
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["Europe/Kyiv", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"]),
    st.integers(0, 2 * 365 * 24),
    st.integers(1, 24 * 40),
)
def test_local_hour_edges_match_a_quarter_hour_scan(zone_name: str, start_hour: int, hours: int) -> None:
    zone = ZoneInfo(zone_name)
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) + start_hour * 3600
    edges = local_hour_edges(start + 1.0, start + hours * 3600.0, zone)
    expected = _quarter_hour_scan(start - 7200, start + hours * 3600 + 7200, zone)
    assert edges.astype(int).tolist() == [e for e in expected if edges[0] <= e <= edges[-1]]
    assert edges[0] <= start + 1 < edges[1] and edges[-2] <= start + hours * 3600 < edges[-1]


@FAST
@given(power_series(max_size=50), st.data())
def test_counters_that_agree_with_the_power_reproduce_the_power_integral_per_hour(
    series: tuple[np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    # Given counters read at some sample instants, equal to the import/export integral of the power up to there
    ts, watts = series
    at = integrate_power(ts, watts, np.concatenate(([ts[0] - 1.0], ts)), method="trapezoid", max_gap_s=1000.0)
    imported = 1000.0 + np.cumsum(at.import_wh)
    exported = 50.0 + np.cumsum(at.export_wh)
    read = np.array(data.draw(st.lists(st.booleans(), min_size=len(ts), max_size=len(ts))))
    total = np.where(read, imported, np.nan)
    returned = np.where(read, exported, np.nan)

    def hourly(method: str) -> list[float]:
        result = compute_hourly_arrays(
            "d", 0, ts, watts, total, returned, tz=KYIV, method=method, max_gap_s=1000.0, max_power_w=1e12
        )
        return [value for r in result.hourly for value in (r.import_wh + r.estimated_wh, r.export_wh)]

    # When placed by auto, Then every hour has what the power integral gives it
    assert hourly("auto") == approx(hourly("trapezoid"))
