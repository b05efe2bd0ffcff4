"""monthly_energy, hourly_profile, data_quality and readings_ext on DuckDB, with known numbers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

from helpers.hourly import KEY, dumps, hour, local, local_day_hours

from wattline.warehouse.duckdb import DuckDBWarehouse


def _view(warehouse: DuckDBWarehouse, name: str) -> list[dict[str, object]]:
    return warehouse.query(f"SELECT * FROM `{{{{project}}}}.{{{{dataset}}}}.{name}` ORDER BY 1, 2, 3")


def test_monthly_energy_sums_the_days_of_each_local_month(warehouse: DuckDBWarehouse) -> None:
    # Given 1 kWh at local noon on 2026-06-30 and on 2026-07-01, and 2 kWh at local 00:30 on 2026-07-01
    rows = [
        hour("m", local("2026-06-30", "12:00"), import_wh=1000.0),
        hour("m", local("2026-07-01", "12:00"), import_wh=1000.0),
        hour("m", local("2026-07-01", "00:00"), import_wh=2000.0),
    ]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When monthly_energy is read (site tariff ua-3zone)
    june, july = _view(warehouse, "monthly_energy")

    # Then June has 1 kWh half-peak, July 3 kWh of which 2 at night, each month priced by its days
    assert (june["month"], june["energy_kwh"], june["cost"]) == (date(2026, 6, 1), 1.0, 4.32)
    assert (july["month_label"], july["energy_kwh"], july["days_with_data"]) == ("2026-07", 3.0, 1)
    assert {z["zone"]: z["kwh"] for z in july["zones"]} == {"half_peak": 1.0, "night": 2.0, "peak": 0.0}
    assert july["cost"] == round(2 * 1.728 + 4.32, 4)
    assert june["coverage"] == round(3600 / (30 * 86400), 6)


def test_hourly_profile_averages_by_iso_weekday_and_local_hour(warehouse: DuckDBWarehouse) -> None:
    # Given 1 kWh and 3 kWh at local 08:00 on two Mondays, and 5 kWh at 08:00 on a Sunday
    rows = [
        hour("m", local("2026-06-15", "08:00"), import_wh=1000.0),
        hour("m", local("2026-06-22", "08:00"), import_wh=3000.0),
        hour("m", local("2026-06-21", "08:00"), import_wh=5000.0),
    ]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When hourly_profile is read
    profile = {(r["weekday"], r["local_hour"]): r for r in _view(warehouse, "hourly_profile")}

    # Then Monday 08:00 averages 2 kWh over 2 hours and Sunday is weekday 7
    assert (profile[(1, 8)]["avg_energy_kwh"], profile[(1, 8)]["hours"], profile[(1, 8)]["weekday_name"]) == (
        2.0,
        2,
        "Mon",
    )
    assert (profile[(7, 8)]["avg_energy_kwh"], profile[(7, 8)]["weekday_name"]) == (5.0, "Sun")


def test_data_quality_reports_missing_hours_gaps_and_resets_per_local_day(warehouse: DuckDBWarehouse) -> None:
    # Given the 25-hour day 2026-10-25 with 20 rows, one with a 600 s gap and a counter reset, one estimated
    hours = local_day_hours("2026-10-25")[:20]
    rows = [hour("m", h, import_wh=100.0) for h in hours[:18]]
    rows.append(hour("m", hours[18], import_wh=50.0, covered_s=3000.0, gap_s=600.0, counter_resets=1))
    rows.append(hour("m", hours[19], estimated_wh=100.0))
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When data_quality is read
    (day,) = _view(warehouse, "data_quality")

    # Then the day has 25 hours, 5 without any row, the gap, the reset and the estimated share
    assert (day["date"], day["day_hours"], day["hours_with_data"], day["hours_missing"]) == (
        date(2026, 10, 25),
        25,
        20,
        5,
    )
    assert (day["gap_seconds"], day["counter_resets"], day["estimated_kwh"]) == (600.0, 1, 0.1)
    assert day["coverage"] == round((19 * 3600 + 3000) / 90000, 6)
    assert day["estimated_share"] == round(100 / (18 * 100 + 50 + 100), 6)


def _write_daily(root: Path, bucket: str, day: str, device: str, readings: list[dict[str, object]]) -> None:
    folder = root / bucket / "daily" / f"dt={day}" / f"device={device}"
    folder.mkdir(parents=True)
    lines = "".join(json.dumps(r) + "\n" for r in readings)
    (folder / "readings.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (folder / "manifest.json").write_text("{}")


def test_readings_ext_reads_the_local_daily_files_with_their_hive_partitions(tmp_path: Path) -> None:
    # Given two daily files in a local bucket
    reading = {"device_id": "m", "channel": 0, "received_ms": 1, "generation": "gen2", "power_w": 5.5}
    _write_daily(tmp_path, "archive", "2026-06-15", "m", [{**reading, "ts": "2026-06-15T10:00:00.000Z"}])
    _write_daily(tmp_path, "archive", "2026-06-16", "m", [{**reading, "ts": "2026-06-16T10:00:00.500Z"}])
    warehouse = DuckDBWarehouse(":memory:", fs_root=tmp_path, bucket="archive")

    # When readings_ext is filtered on one partition
    rows = warehouse.query(
        "SELECT dt, device, ts, power_w FROM `{{project}}.{{dataset}}.readings_ext` WHERE dt = @dt",
        {"dt": date(2026, 6, 16)},
    )

    # Then that file's reading comes back, typed
    assert rows == [
        {
            "dt": date(2026, 6, 16),
            "device": "m",
            "ts": datetime(2026, 6, 16, 10, 0, 0, 500000, tzinfo=UTC),
            "power_w": 5.5,
        }
    ]


def test_readings_ext_is_empty_until_a_daily_file_exists(tmp_path: Path) -> None:
    # Given a bucket without daily files
    warehouse = DuckDBWarehouse(":memory:", fs_root=tmp_path, bucket="archive")

    # When readings_ext is read, Then it has no rows but has the columns
    assert warehouse.query("SELECT * FROM `{{project}}.{{dataset}}.readings_ext` WHERE dt = '2026-06-16'") == []

    # And once a file lands, the next query over readings_ext sees it
    _write_daily(tmp_path, "archive", "2026-06-16", "m", [{"device_id": "m", "ts": "2026-06-16T10:00:00Z"}])
    assert len(warehouse.query("SELECT * FROM `{{project}}.{{dataset}}.readings_ext`")) == 1


def test_energy_hourly_local_gives_the_local_calendar_of_each_hour_across_the_fall_back_night(
    warehouse: DuckDBWarehouse,
) -> None:
    # Given the UTC hours 00:00 and 01:00 of 2026-10-25, both local 03:00 (Kyiv falls back at 04:00 EEST)
    rows = [hour("m", datetime(2026, 10, 25, 0, tzinfo=UTC)), hour("m", datetime(2026, 10, 25, 1, tzinfo=UTC))]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When energy_hourly_local is read
    local_rows = _view(warehouse, "energy_hourly_local")

    # Then both are local hour 3 of Sunday 2026-10-25
    assert [(r["local_date"], r["local_hour"], r["weekday"]) for r in local_rows] == [(date(2026, 10, 25), 3, 7)] * 2


def test_daily_zone_energy_has_one_row_per_zone_of_the_site_tariff(warehouse: DuckDBWarehouse) -> None:
    # Given 1 kWh at local 09:00 (peak) and 2 kWh at 12:00 (half-peak) on 2026-06-15
    rows = [
        hour("m", local("2026-06-15", "09:00"), import_wh=1000.0),
        hour("m", local("2026-06-15", "12:00"), import_wh=2000.0),
    ]
    warehouse.merge_rows("energy_hourly", dumps(rows), KEY)

    # When daily_zone_energy is read (site tariff ua-3zone)
    zones = {r["zone"]: r for r in _view(warehouse, "daily_zone_energy")}

    # Then each zone has its energy, price and cost, the empty one included
    assert {z: (r["energy_kwh"], r["price"], r["cost"]) for z, r in zones.items()} == {
        "half_peak": (2.0, 4.32, 8.64),
        "night": (0.0, 1.728, 0.0),
        "peak": (1.0, 6.48, 6.48),
    }
