"""The objects readings source gives detection exactly what the warehouse's readings_ext gives (DuckDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alert_files import series, write_daily_files

from wattline.adapters.fs_store import FsObjectStore
from wattline.alerts.objects import ObjectStoreReadings
from wattline.alerts.store import WarehouseReadings
from wattline.formats.columns import ReadingColumns
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
    lwt_us = int(lwt.timestamp()) * 1_000_000
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
        from_files = ObjectStoreReadings(store, warehouse).columns(start, end)
        from_warehouse = WarehouseReadings(warehouse).columns(start, end)
    finally:
        warehouse.close()

    # Then they hold the same readings, and the device-level last will among them
    assert len(from_files) and rows(from_files) == rows(from_warehouse)
    assert ("em-b", -1, lwt_us, 0) in [(*row[:3], row[-1]) for row in rows(from_warehouse)]


def rows(cols: ReadingColumns) -> list[tuple[object, ...]]:
    """The readings as comparable tuples (NaN, a quantity not carried, as None), sorted."""
    fields = [getattr(cols, name).tolist() for name in ReadingColumns.__dataclass_fields__]
    return sorted(tuple(None if v != v else v for v in row) for row in zip(*fields, strict=True))
