"""One test per rule of the energy contract (docs/energy.md), on small hand-computed series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from energy_helpers import DEVICE, T0, at, counter, power, series

from wattline.energy import compute_hourly, compute_hourly_arrays, integrate_power, local_hour_edges
from wattline.models import Generation

KYIV = "Europe/Kyiv"


def total_import(readings, **kwargs):  # type: ignore[no-untyped-def]
    result = compute_hourly(readings, tz=KYIV, **kwargs)
    return sum(row.import_wh for row in result.hourly)


# Rule 1: ordering, duplicates, equal timestamps


def test_samples_given_out_of_order_integrate_as_if_sorted() -> None:
    # Given two samples in reverse order
    readings = series([(60, 200.0), (0, 100.0)])
    # When integrated with the trapezoid
    energy = total_import(readings, method="trapezoid")
    # Then the mean of the two powers over 60 s is counted
    assert energy == pytest.approx(150 * 60 / 3600)


def test_a_later_received_value_wins_over_an_earlier_one_with_the_same_timestamp() -> None:
    readings = [power(0, 100.0, received_ms=1), power(0, 500.0, received_ms=2), power(60, 500.0)]
    assert total_import(readings, method="trapezoid") == pytest.approx(500 * 60 / 3600)


def test_exact_duplicate_readings_are_counted_once() -> None:
    readings = series([(0, 100.0), (60, 100.0)])
    result = compute_hourly(readings + readings, tz=KYIV, method="trapezoid")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(100 * 60 / 3600)
    assert sum(row.samples for row in result.hourly) == 2


# Rule 2: the gap rule


def test_an_interval_of_exactly_max_gap_is_integrated() -> None:
    result = compute_hourly(series([(0, 1000.0), (300, 1000.0)]), tz=KYIV, method="trapezoid", max_gap_s=300)
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(1000 * 300 / 3600)
    assert result.gaps == []


def test_an_interval_longer_than_max_gap_is_a_reported_gap_without_energy() -> None:
    result = compute_hourly(series([(0, 1000.0), (300.5, 1000.0)]), tz=KYIV, method="trapezoid", max_gap_s=300)
    assert sum(row.import_wh for row in result.hourly) == 0.0
    assert sum(row.gap_s for row in result.hourly) == pytest.approx(300.5)
    assert [(g.start, g.end, g.seconds) for g in result.gaps] == [(at(0), at(300.5), pytest.approx(300.5))]


def test_trapezoid_interpolates_linearly_between_samples() -> None:
    assert total_import(series([(0, 0.0), (60, 120.0)]), method="trapezoid") == pytest.approx(1.0)


def test_locf_holds_the_earlier_sample_until_the_next() -> None:
    assert total_import(series([(0, 0.0), (60, 120.0)]), method="locf") == 0.0
    assert total_import(series([(0, 120.0), (60, 0.0)]), method="locf") == pytest.approx(2.0)


# Rule 3: import, export and the zero crossing


def test_trapezoid_splits_an_interval_at_its_zero_crossing() -> None:
    # Given power falling from 300 W to -100 W over 60 s: the zero crossing is at 45 s
    result = compute_hourly(series([(0, 300.0), (60, -100.0)]), tz=KYIV, method="trapezoid")
    row = result.hourly[0]
    assert row.import_wh == pytest.approx(300 * 45 / 2 / 3600)
    assert row.export_wh == pytest.approx(100 * 15 / 2 / 3600)


def test_negative_power_held_by_locf_is_export() -> None:
    row = compute_hourly(series([(0, -600.0), (60, 100.0)]), tz=KYIV, method="locf").hourly[0]
    assert (row.import_wh, row.export_wh) == (0.0, pytest.approx(10.0))


# Rule 4: hour boundaries, DST, non-whole-hour zones


def test_an_interval_crossing_an_hour_is_split_at_the_interpolated_power() -> None:
    # Given 0 W one minute before the hour and 1200 W one minute after: 600 W at the boundary
    result = compute_hourly(series([(3540, 0.0), (3660, 1200.0)]), tz=KYIV, method="trapezoid")
    assert [row.hour_start for row in result.hourly] == [T0, at(3600)]
    assert [row.import_wh for row in result.hourly] == [pytest.approx(5.0), pytest.approx(15.0)]


def test_locf_carries_the_held_power_across_the_hour_boundary() -> None:
    result = compute_hourly(series([(3540, 1200.0), (3660, 0.0)]), tz=KYIV, method="locf")
    assert [row.import_wh for row in result.hourly] == [pytest.approx(20.0), pytest.approx(20.0)]


def _constant_day(day: str, zone: str) -> list[float]:
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(day).replace(tzinfo=tz).astimezone(UTC)
    end = (datetime.fromisoformat(day).replace(tzinfo=tz) + timedelta(days=1)).astimezone(UTC)
    ts = np.arange(start.timestamp(), end.timestamp() + 1, 60.0)
    result = compute_hourly_arrays(DEVICE, 0, ts, np.full(len(ts), 1000.0), tz=zone, method="trapezoid")
    local_day = datetime.fromisoformat(day).date()
    return [row.import_wh for row in result.hourly if row.hour_start.astimezone(tz).date() == local_day]


def test_the_kyiv_spring_forward_day_has_23_hours() -> None:
    hours = _constant_day("2026-03-29", KYIV)
    assert len(hours) == 23
    assert sum(hours) == pytest.approx(23_000.0)


def test_the_kyiv_autumn_day_has_25_hours() -> None:
    hours = _constant_day("2026-10-25", KYIV)
    assert len(hours) == 25
    assert sum(hours) == pytest.approx(25_000.0)


def test_hours_of_a_half_hour_zone_start_at_half_past_in_utc() -> None:
    edges = local_hour_edges(at(0).timestamp(), at(7200).timestamp(), ZoneInfo("Asia/Kolkata"))
    starts = [datetime.fromtimestamp(e, UTC) for e in edges]
    assert {s.minute for s in starts} == {30}
    assert all(s.astimezone(ZoneInfo("Asia/Kolkata")).minute == 0 for s in starts)


def test_the_autumn_repeated_local_hour_gives_two_rows() -> None:
    # Given the Kyiv autumn night: local 03:00-04:00 happens twice (EEST then EET)
    tz = ZoneInfo(KYIV)
    hours = [
        row.hour_start.astimezone(tz)
        for row in compute_hourly_arrays(
            DEVICE,
            0,
            np.arange(0, 4 * 3600, 60.0) + datetime(2026, 10, 24, 23, tzinfo=UTC).timestamp(),
            np.full(240, 100.0),
            tz=KYIV,
            method="locf",
        ).hourly
    ]
    assert [h.strftime("%H:%M%z") for h in hours] == ["02:00+0300", "03:00+0300", "03:00+0200", "04:00+0200"]


# Rule 5: counters


def test_a_counter_increase_is_the_energy_of_its_interval() -> None:
    readings = [counter(0, 1000.0), counter(60, 1002.0), counter(120, 1005.0)]
    assert total_import(readings, method="counter") == pytest.approx(5.0)


def test_counter_energy_over_a_long_interval_without_power_is_estimated() -> None:
    # Given counter readings 30 min apart (longer than max_gap) and no power samples to place the energy
    readings = [counter(0, 1000.0), counter(1800, 1200.0), counter(3599, 1500.0)]
    row = compute_hourly(readings, tz=KYIV, method="counter").hourly[0]
    # Then the counter's 500 Wh are all there, as estimated energy, and the time is a gap
    assert (row.import_wh, row.estimated_wh, row.gap_s) == (0.0, pytest.approx(500.0), 3599.0)


def test_a_minus_one_counter_reading_is_ignored() -> None:
    readings = [counter(0, 1000.0), counter(60, -1.0), counter(120, 1010.0)]
    result = compute_hourly(readings, tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(10.0)
    assert result.resets == []


def test_a_counter_decrease_is_a_reset_counting_the_new_value() -> None:
    result = compute_hourly([counter(0, 5000.0), counter(60, 3.0)], tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(3.0)
    assert [(r.kind, r.before_wh, r.after_wh, r.counted_wh) for r in result.resets] == [("reset", 5000.0, 3.0, 3.0)]
    assert sum(row.counter_resets for row in result.hourly) == 1


def test_an_implausible_reset_contributes_nothing() -> None:
    # 1000 Wh in 60 s would be 60 kW, above the 25 kW limit
    result = compute_hourly([counter(0, 5000.0), counter(60, 1000.0)], tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == 0.0
    assert [(r.kind, r.counted_wh) for r in result.resets] == [("reset", 0.0)]


def test_a_reset_within_the_plausibility_limit_at_its_edge_is_counted() -> None:
    # 25 kW over 144 s is exactly 1000 Wh
    result = compute_hourly([counter(0, 5000.0), counter(144, 1000.0)], tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(1000.0)


def test_a_single_reading_dipping_to_zero_is_a_glitch_not_a_reset() -> None:
    result = compute_hourly([counter(0, 5000.0), counter(60, 0.0), counter(120, 5010.0)], tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(10.0)
    assert [r.kind for r in result.resets] == ["glitch"]
    assert sum(row.counter_resets for row in result.hourly) == 0


def test_an_implausible_counter_jump_contributes_nothing() -> None:
    result = compute_hourly([counter(0, 0.0), counter(60, 5000.0), counter(120, 5010.0)], tz=KYIV, method="counter")
    assert sum(row.import_wh for row in result.hourly) == pytest.approx(10.0)
    assert [r.kind for r in result.resets] == ["jump"]


def test_the_counter_method_places_energy_in_proportion_to_the_power_integral() -> None:
    # Given 1000 W in the first hour and 3000 W in the second (Gen2, held), and a counter growing 2000 Wh
    gen2 = Generation.GEN2
    readings = [power(t, 1000.0, generation=gen2) for t in range(0, 3600, 60)]
    readings += [power(t, 3000.0, generation=gen2) for t in range(3600, 7201, 60)]
    readings += [counter(0, 10_000.0, generation=gen2), counter(7200, 12_000.0, generation=gen2)]
    result = compute_hourly(readings, tz=KYIV, method="counter")
    assert [row.import_wh for row in result.hourly[:2]] == [pytest.approx(500.0), pytest.approx(1500.0)]


def test_the_counter_method_spreads_linearly_in_time_without_power() -> None:
    result = compute_hourly([counter(0, 1000.0), counter(5400, 2500.0)], tz=KYIV, method="counter")
    assert [row.estimated_wh for row in result.hourly] == [pytest.approx(1000.0), pytest.approx(500.0)]


def test_a_returned_energy_counter_gives_export() -> None:
    readings = [counter(0, 10.0, returned_wh=100.0), counter(60, 10.0, returned_wh=105.0)]
    row = compute_hourly(readings, tz=KYIV, method="counter").hourly[0]
    assert (row.import_wh, row.export_wh) == (0.0, pytest.approx(5.0))


# Rule 6: auto


def test_auto_uses_counters_where_they_bracket_and_power_elsewhere() -> None:
    readings = series([(t, 1000.0) for t in range(0, 7201, 60)])
    readings += [counter(3600, 100.0), counter(7200, 1100.0)]
    result = compute_hourly(readings, tz=KYIV)
    assert [row.method for row in result.hourly[:2]] == ["trapezoid", "counter"]
    assert [row.import_wh for row in result.hourly[:2]] == [pytest.approx(1000.0), pytest.approx(1000.0)]


def test_a_power_gap_bridged_by_a_counter_becomes_estimated_energy() -> None:
    # Given 1000 W at 0..600 s and 4200..4800 s, nothing between, and counters at both stretch ends
    readings = series([(t, 1000.0) for t in range(0, 601, 60)] + [(t, 1000.0) for t in range(4200, 4801, 60)])
    readings += [counter(0, 0.0), counter(600, 500.0 / 3), counter(4200, 2000 + 500.0 / 3)]
    readings += [counter(4800, 2000 + 1000.0 / 3)]
    result = compute_hourly(readings, tz=KYIV)
    first, second = result.hourly
    assert (first.import_wh, first.estimated_wh) == (pytest.approx(500 / 3), pytest.approx(2000 * 3000 / 3600))
    assert (second.import_wh, second.estimated_wh) == (pytest.approx(500 / 3), pytest.approx(2000 * 600 / 3600))
    assert (first.gap_s, second.gap_s) == (pytest.approx(3000.0), pytest.approx(600.0))
    assert [(g.start, g.end) for g in result.gaps] == [(at(600), at(4200))]


def test_a_power_gap_inside_dense_counter_readings_is_measured_not_a_gap() -> None:
    readings = series([(0, 600.0), (60, 600.0), (460, 600.0), (520, 600.0)])
    readings += [counter(t, t / 6) for t in range(0, 521, 60)] + [counter(520, 520 / 6)]
    result = compute_hourly(readings, tz=KYIV)
    row = result.hourly[0]
    assert (row.import_wh, row.estimated_wh, row.gap_s) == (pytest.approx(520 / 6), 0.0, 0.0)
    assert result.gaps == []


def test_auto_integrates_gen2_power_with_locf() -> None:
    row = compute_hourly(series([(0, 0.0), (60, 120.0)], generation=Generation.GEN2), tz=KYIV).hourly[0]
    assert (row.import_wh, row.method) == (0.0, "locf")


def test_auto_integrates_gen1_power_with_the_trapezoid() -> None:
    row = compute_hourly(series([(0, 0.0), (60, 120.0)]), tz=KYIV).hourly[0]
    assert (row.import_wh, row.method) == (pytest.approx(1.0), "trapezoid")


# Rule 7: the hourly rows


def test_hours_without_any_sample_inside_the_span_are_gap_rows() -> None:
    readings = series([(0, 1000.0), (60, 1000.0), (3 * 3600, 1000.0), (3 * 3600 + 60, 1000.0)])
    result = compute_hourly(readings, tz=KYIV, method="trapezoid")
    assert [row.hour_start for row in result.hourly] == [at(h * 3600) for h in range(4)]
    assert [row.gap_s for row in result.hourly] == [3540.0, 3600.0, 3600.0, 0.0]
    assert sum(row.gap_s for row in result.hourly) == pytest.approx(sum(g.seconds for g in result.gaps))


def test_time_before_the_first_sample_is_neither_covered_nor_a_gap() -> None:
    row = compute_hourly(series([(1800, 1000.0), (1860, 1000.0)]), tz=KYIV, method="trapezoid").hourly[0]
    assert (row.covered_s, row.gap_s) == (60.0, 0.0)


def test_mean_power_is_weighted_by_time_and_min_max_come_from_the_samples() -> None:
    row = compute_hourly(
        series([(0, 100.0), (3000, 1000.0), (3600, 1000.0)]), tz=KYIV, method="locf", max_gap_s=3600
    ).hourly[0]
    assert row.mean_power_w == pytest.approx((100 * 3000 + 1000 * 600) / 3600)
    assert (row.min_power_w, row.max_power_w) == (100.0, 1000.0)


def test_a_window_keeps_only_the_hours_starting_inside_it() -> None:
    readings = series([(t, 1000.0) for t in range(0, 3 * 3600 + 1, 60)])
    result = compute_hourly(readings, tz=KYIV, method="trapezoid", window=(at(3600), at(7200)))
    assert [row.hour_start for row in result.hourly] == [at(3600)]


def test_device_level_readings_without_channel_are_ignored() -> None:
    state = power(0, 1.0).model_copy(update={"channel": None, "power_w": None, "online": True})
    assert compute_hourly([state], tz=KYIV).hourly == []


def test_channels_are_integrated_separately_and_sorted() -> None:
    readings = series([(0, 100.0), (60, 100.0)], channel=1) + series([(0, 200.0), (60, 200.0)], channel=0)
    result = compute_hourly(readings, tz=KYIV)
    assert [(row.channel, row.import_wh) for row in result.hourly] == [
        (0, pytest.approx(200 / 60)),
        (1, pytest.approx(100 / 60)),
    ]


def test_integrate_power_rejects_unsorted_timestamps() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        integrate_power(np.array([1.0, 0.0]), np.array([1.0, 1.0]), np.array([0.0, 3600.0]))


def test_an_unknown_method_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(ValueError, match="auto, counter, trapezoid, locf"):
        compute_hourly(series([(0, 1.0)]), tz=KYIV, method="simpson")


def test_a_reading_carrying_power_and_counter_is_one_sample() -> None:
    both = [power(t, 600.0).model_copy(update={"energy_total_wh": 1000 + t / 6}) for t in (0, 60, 120)]
    result = compute_hourly([*both, counter(90, 1015.0)], tz=KYIV)
    assert sum(row.samples for row in result.hourly) == 4


def test_min_and_max_include_the_interpolated_power_at_the_hour_edges() -> None:
    result = compute_hourly(series([(3540, 0.0), (3660, 1200.0)]), tz=KYIV, method="trapezoid")
    assert [(row.min_power_w, row.max_power_w) for row in result.hourly] == [(0.0, 600.0), (600.0, 1200.0)]


def test_an_hour_inside_a_gap_has_no_power_figures() -> None:
    result = compute_hourly(series([(0, 100.0), (3 * 3600, 100.0)]), tz=KYIV, method="trapezoid")
    middle = result.hourly[1]
    assert (middle.min_power_w, middle.max_power_w, middle.mean_power_w) == (None, None, None)
