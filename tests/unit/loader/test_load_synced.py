"""wattline.local.events.load_synced: the embedded stack's Eventarc after a transfer.sync."""

from __future__ import annotations

from datetime import UTC, datetime

from helpers.fakes import MemoryPublisher
from helpers.gcp_daily_files import (
    OPTIONS,
    MemoryWarehouse,
    VersionedStore,
    assert_same_rows,
    reference_rows,
    split_by_day,
    synthetic_readings,
    write_day,
)

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.loader import ENERGY_TABLE, LoadStatus
from wattline.local.events import load_synced
from wattline.transfer import sync


def test_every_copied_readings_file_is_loaded_and_every_manifest_ignored():
    # Given two days at the source
    days = split_by_day(synthetic_readings(datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, 23, tzinfo=UTC)))
    source, target = MemoryObjectStore("s3"), VersionedStore("gcs")
    for day, readings in days.items():
        write_day(source, readings, day)
    warehouse, publisher = MemoryWarehouse(), MemoryPublisher()
    # When synced and the copies delivered in-process
    results = load_synced(sync(source, target), target, warehouse=warehouse, publisher=publisher, options=OPTIONS)
    # Then manifests are ignored, readings loaded, and the table is the computation over both files
    assert [r.status for r in results] == [LoadStatus.IGNORED, LoadStatus.LOADED] * 2
    files = {
        day: target.get(f"daily/dt={day.isoformat()}/device=shellyproem50-08f9e0e67204/readings.jsonl.gz")
        for day in days
    }
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files))
