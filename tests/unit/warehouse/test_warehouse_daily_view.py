"""daily_energy on DuckDB with numbers worked out by hand: DST days, tariff-zone edges, price changes."""

from __future__ import annotations

from datetime import date

import pytest
from helpers.hourly import KEY, dumps, hour, local, local_day_hours

from wattline.daily import daily_energy
from wattline.tariffs import load_tariff
from wattline.warehouse import fetch_daily_energy
from wattline.warehouse.duckdb import DuckDBWarehouse

UA3 = load_tariff("ua-3zone")


def _daily(warehouse: DuckDBWarehouse, day: str, tariff: str = "ua-3zone") -> list[dict[str, object]]:
    rows = fetch_daily_energy(
        warehouse, date.fromisoformat(day), date.fromisoformat(day), tariff=load_tariff(tariff), site_tariff="ua-3zone"
    )
    return [row.model_dump() for row in rows]


def test_spring_forward_day_has_23_hours_split_into_3zone_night_half_peak_and_peak(warehouse: DuckDBWarehouse) -> None:
    # Given 1 kWh in every local hour of 2026-03-29 (Kyiv skips 03:00: 23 hours)
    hours = local_day_hours("2026-03-29")
    assert len(hours) == 23
    warehouse.merge_rows("energy_hourly", dumps([hour("m1", h, import_wh=1000.0) for h in hours]), KEY)

    # When the day is read from daily_energy
    (day,) = _daily(warehouse, "2026-03-29")

    # Then night has 7 hours (00-02, 04-06, 23), peak 5 (08-10, 20-21), half-peak 11, priced at 4.32 UAH base
    assert day["zones"] == {"night": 7.0, "half_peak": 11.0, "peak": 5.0}
    assert day["energy_kwh"] == 23.0
    assert day["cost"] == pytest.approx(7 * 1.728 + 11 * 4.32 + 5 * 6.48, abs=1e-9)
    assert day["cost"] == 92.016
    assert day["coverage"] == 1.0


def test_fall_back_day_of_25_hours_with_24_hours_of_data_is_96_percent_covered(warehouse: DuckDBWarehouse) -> None:
    # Given 24 of the 25 local hours of 2026-10-25 (Kyiv repeats 03:00), each fully covered
    hours = local_day_hours("2026-10-25")
    assert len(hours) == 25
    warehouse.merge_rows("energy_hourly", dumps([hour("m1", h, import_wh=100.0) for h in hours[:24]]), KEY)

    # When the day is read
    (day,) = _daily(warehouse, "2026-10-25")

    # Then coverage is 24 h / 25 h and both 03:00 hours are night
    assert day["coverage"] == 0.96
    assert day["zones"]["night"] == 0.8  # local 00, 01, 02, 03, 03, 04, 05, 06 (23 has no row)
    assert day["energy_kwh"] == 2.4


def test_hours_either_side_of_zone_edges_are_priced_with_their_own_zone(warehouse: DuckDBWarehouse) -> None:
    # Given energy at 06:00 (night), 07:00 (half-peak, partly estimated), 22:00 (half-peak) and 23:00 (night)
    day = "2026-06-15"
    rows = [
        hour("m2", local(day, "06:00"), import_wh=500.0),
        hour("m2", local(day, "07:00"), import_wh=300.0, estimated_wh=50.0, method="trapezoid"),
        hour("m2", local(day, "22:00"), import_wh=200.0),
        hour("m2", local(day, "23:00"), import_wh=100.0),
    ]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When the day is read
    (got,) = _daily(warehouse, day)

    # Then night = 0.6 kWh, half-peak = 0.55 kWh, and cost = 0.6 x 1.728 + 0.55 x 4.32
    assert got["zones"] == {"night": 0.6, "half_peak": 0.55, "peak": 0.0}
    assert got["measured_kwh"] == 1.1
    assert got["estimated_kwh"] == 0.05
    assert got["energy_kwh"] == 1.15
    assert got["cost"] == 3.4128
    assert got["coverage"] == 0.166667
    assert got["method"] == "counter+trapezoid"


def test_an_hour_is_priced_with_the_price_of_its_local_date_not_its_utc_date(warehouse: DuckDBWarehouse) -> None:
    # Given 1 kWh at local 2024-05-31 23:00 and 1 kWh at local 2024-06-01 00:00 (UTC date of both: May 31);
    # the base price went from 2.64 to 4.32 UAH on 2024-06-01
    rows = [
        hour("m3", local("2024-05-31", "23:00"), import_wh=1000.0),
        hour("m3", local("2024-06-01", "00:00"), import_wh=1000.0),
    ]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When both days are read with the one-zone tariff
    days = fetch_daily_energy(
        warehouse, date(2024, 5, 31), date(2024, 6, 1), tariff=load_tariff("ua-1zone"), site_tariff="ua-3zone"
    )

    # Then each day has its own price
    assert [(d.date, d.energy_kwh, d.cost) for d in days] == [("2024-05-31", 1.0, 2.64), ("2024-06-01", 1.0, 4.32)]


def test_daily_energy_rows_equal_the_python_rollup_of_the_same_hours(warehouse: DuckDBWarehouse) -> None:
    # Given two days of irregular hourly rows on two channels, with gaps, resets and estimates
    rows = []
    for index, start in enumerate(local_day_hours("2026-03-29") + local_day_hours("2026-03-30")):
        for channel in (0, 1):
            rows.append(
                hour(
                    "m4",
                    start,
                    channel=channel,
                    import_wh=123.456789 * (index % 7) + channel * 0.1,
                    estimated_wh=0.333333 if index % 5 == 0 else 0.0,
                    export_wh=0.7 * (index % 3),
                    covered_s=3600.0 - 17.5 * (index % 4),
                    gap_s=17.5 * (index % 4),
                    counter_resets=1 if index == 10 else 0,
                    method="locf" if index % 11 == 0 else "counter",
                )
            )
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When daily_energy is read and the same hours are rolled up in Python (wattline.daily)
    got = fetch_daily_energy(warehouse, date(2026, 3, 29), date(2026, 3, 30), tariff=UA3, site_tariff="ua-3zone")
    expected = daily_energy(rows, tariff=UA3, timezone="Europe/Kyiv")

    # Then they agree exactly, field by field, zones in the tariff's order
    assert [d.model_dump() for d in got] == [d.model_dump() for d in expected]
    assert [list(d.zones) for d in got] == [UA3.zone_names] * 4


def test_daily_energy_for_another_tariff_reads_the_all_tariffs_view(warehouse: DuckDBWarehouse) -> None:
    # Given one hour at local noon
    warehouse.merge_rows("energy_hourly", dumps([hour("m5", local("2026-06-15", "12:00"), import_wh=2000.0)]), KEY)

    # When it is priced with the two-zone tariff while the site tariff is ua-3zone
    (day,) = _daily(warehouse, "2026-06-15", tariff="ua-2zone")

    # Then the zones are the two-zone tariff's
    assert day["zones"] == {"night": 0.0, "day": 2.0}
    assert day["cost"] == 8.64


def test_device_filter_returns_only_that_devices_days(warehouse: DuckDBWarehouse) -> None:
    # Given two devices on the same day
    start = local("2026-06-15", "12:00")
    warehouse.merge_rows(
        "energy_hourly", dumps([hour("a", start, import_wh=1.0), hour("b", start, import_wh=2.0)]), KEY
    )

    # When one device is asked for
    days = fetch_daily_energy(
        warehouse, date(2026, 6, 15), date(2026, 6, 15), tariff=UA3, site_tariff="ua-3zone", device_id="b"
    )

    # Then only its row comes back
    assert [d.device_id for d in days] == ["b"]
