"""Detection's readings straight from the daily files (WATTLINE_ALERTS_READINGS_SOURCE=objects)."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wattline.adapters.fs_store import FsObjectStore
from wattline.alerts.objects import daily_readings
from wattline.alerts.settings import AlertSettings
from wattline.keys import daily_manifest_key, daily_readings_key
from wattline.models import Generation, Reading

T0 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


def reading(device: str, ts: datetime, **values: float | bool) -> Reading:
    return Reading(
        device_id=device, channel=0, ts=ts, received_ms=int(ts.timestamp() * 1000), generation=Generation.GEN2, **values
    )


def store_with(tmp_path: Path, readings: list[Reading]) -> FsObjectStore:
    store = FsObjectStore(tmp_path / "wattline-daily", name="wattline-daily")
    days: dict[tuple[date, str], list[Reading]] = {}
    for r in readings:
        days.setdefault((r.ts.date(), r.device_id), []).append(r)
    for (day, device), rows in days.items():
        lines = "".join(r.to_json_line() + "\n" for r in rows).encode()
        store.put(daily_readings_key(day, device), gzip.compress(lines))
        store.put(daily_manifest_key(day, device), b"{}")
    return store


def test_the_window_takes_readings_of_every_device_from_each_days_file(tmp_path: Path) -> None:
    # Given two devices with readings on both sides of a UTC midnight, and one far outside the window
    inside = [reading("em-a", T0 + timedelta(minutes=m), power_w=100.0) for m in (0, 59, 61)]
    inside.append(reading("em-b", T0 + timedelta(minutes=90), power_w=5.0))
    outside = [reading("em-a", T0 - timedelta(days=3), power_w=1.0), reading("em-a", T0 + timedelta(hours=4))]
    store = store_with(tmp_path, inside + outside)

    # When detection asks for [T0, T0 + 2 h)
    found = daily_readings(store, T0, T0 + timedelta(hours=2))

    # Then exactly the readings inside come back, from both days' files
    assert sorted((r.device_id, r.ts) for r in found) == sorted((r.device_id, r.ts) for r in inside)


def test_readings_keep_only_the_columns_readings_ext_gives_detection(tmp_path: Path) -> None:
    # Given a reading carrying reactive power, current and frequency besides power and voltage
    full = reading("em-a", T0, power_w=230.0, voltage_v=231.0, reactive_power_var=12.0, current_a=1.0, freq_hz=50.0)
    store = store_with(tmp_path, [full])

    # When it is read for detection
    [found] = daily_readings(store, T0, T0 + timedelta(minutes=1))

    # Then it has the columns the warehouse query selects, and not the others
    assert (found.power_w, found.voltage_v, found.generation) == (230.0, 231.0, Generation.GEN2)
    assert (found.reactive_power_var, found.current_a, found.freq_hz) == (None, None, None)


def test_the_objects_source_needs_the_bucket_of_the_daily_files() -> None:
    # Given the objects source without WATTLINE_BUCKET
    # When the settings are validated
    # Then they are refused with what to set
    with pytest.raises(ValueError, match="WATTLINE_BUCKET"):
        AlertSettings(warehouse="duckdb", publisher="outbox", alerts_readings_source="objects")


def test_a_pinned_clock_is_detections_now() -> None:
    # Given WATTLINE_ALERTS_NOW set
    settings = AlertSettings(warehouse="duckdb", publisher="outbox", alerts_now="2026-11-20T02:00:00+02:00")

    # Then detection runs at that instant, in UTC
    assert settings.now() == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
