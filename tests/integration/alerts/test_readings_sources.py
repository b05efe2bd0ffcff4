"""The objects readings source gives detection exactly what the warehouse's readings_ext gives (DuckDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alert_files import series, write_daily_files

from wattline.adapters.fs_store import FsObjectStore
from wattline.alerts.objects import ObjectStoreReadings
from wattline.alerts.store import WarehouseReadings
from wattline.models import Generation, Reading

pytest.importorskip("duckdb")
from wattline.warehouse.duckdb import DuckDBWarehouse

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
BUCKET = "wattline-daily"


def test_readings_from_the_files_equal_readings_ext_over_the_same_files(tmp_path: Path) -> None:
    # Given two meters' daily files across a UTC midnight, with an LWT (device-level) reading among them
    readings = series("em-a", NOW - timedelta(hours=6), NOW, overrides=[])
    readings += series("em-b", NOW - timedelta(hours=3), NOW - timedelta(hours=1), power_w=40.0)
    lwt = NOW - timedelta(hours=2)
    readings.append(
        Reading(
            device_id="em-b", ts=lwt, received_ms=int(lwt.timestamp() * 1000), generation=Generation.GEN1, online=False
        )
    )
    write_daily_files(tmp_path / "buckets", BUCKET, readings)
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb", fs_root=tmp_path / "buckets", bucket=BUCKET)
    store = FsObjectStore(tmp_path / "buckets" / BUCKET, name=BUCKET)
    try:
        warehouse.ensure_schema()
        start, end = NOW - timedelta(hours=4), NOW - timedelta(minutes=30)

        # When both sources are asked for the same window
        from_files = ObjectStoreReadings(store, warehouse).readings(start, end)
        from_warehouse = WarehouseReadings(warehouse).readings(start, end)
    finally:
        warehouse.close()

    # Then they hold the same readings
    def key(r: Reading) -> tuple[str, datetime, int]:
        return (r.device_id, r.ts, r.channel if r.channel is not None else -1)

    assert from_files and sorted(from_files, key=key) == sorted(from_warehouse, key=key)
