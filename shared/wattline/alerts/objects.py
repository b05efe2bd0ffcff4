"""Readings for detection straight from the daily files in the object store (`readings_source = objects`).

The same rows `readings_ext` gives (every line of the window's files), for where the external table returns nothing —
bqemulator accepts external tables but reads no data — or is not wanted: as columns for detection (`daily_columns`),
or as Readings reduced to detection's columns for the dashboard (`daily_readings`). Hourly energy for the spike
baseline still comes from the warehouse's `energy_hourly`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from wattline import keys
from wattline.alerts.store import WarehouseReadings
from wattline.errors import NotFoundError
from wattline.formats.columns import ReadingColumns, read_columns
from wattline.models import HourlyEnergy, Reading, readings_from_file
from wattline.ports import ColumnarWarehouse, ObjectStore

# The columns `WarehouseReadings` selects from readings_ext: a reading built from a daily line keeps only these.
READING_COLUMNS = (
    "device_id",
    "channel",
    "ts",
    "received_ms",
    "generation",
    "power_w",
    "voltage_v",
    "energy_total_wh",
    "energy_returned_total_wh",
    "online",
)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def daily_readings(store: ObjectStore, start: datetime, end: datetime) -> list[Reading]:
    """Every reading with start <= ts < end in the daily files of the days `readings_ext` would open for the same
    window (dt from the day before `start`, whose file may hold late samples, to the day of `end`)."""
    found: list[Reading] = []
    for key in _daily_keys(store, start, end):
        try:
            data = store.get(key)
        except NotFoundError:  # replaced or removed since the listing
            continue
        found.extend(r for r in readings_of(data) if start <= r.ts < end)
    return found


def _daily_keys(store: ObjectStore, start: datetime, end: datetime) -> Iterator[str]:
    """The daily readings files `readings_ext` would open for the window: dt from the day before `start` (whose
    file may hold late samples) to the day of `end`."""
    for day in _days((start - timedelta(days=1)).date(), end.date()):
        for info in store.list(f"{keys.DAILY_PREFIX}dt={day.isoformat()}/"):
            parsed = keys.parse_daily_key(info.key)
            if parsed is not None and parsed[2] == keys.READINGS_FILE:
                yield info.key


def daily_columns(store: ObjectStore, start: datetime, end: datetime) -> ReadingColumns:
    """`daily_readings` as columns, for detection (the files' columnar reader, no Reading object)."""
    found: list[ReadingColumns] = []
    low, high = _us(start), _us(end)
    for key in _daily_keys(store, start, end):
        try:
            cols = read_columns(store.get(key))
        except NotFoundError:  # replaced or removed since the listing
            continue
        found.append(cols.take((cols.ts_us >= low) & (cols.ts_us < high)))
    return ReadingColumns.concat(found)


def _us(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def readings_of(data: bytes) -> Iterator[Reading]:
    """The readings of one daily file (gzip'd JSON lines), reduced to detection's columns."""
    return readings_from_file(data, READING_COLUMNS)


class ObjectStoreReadings:
    """A ReadingsSource: readings from the daily files in `store`, hourly energy from the warehouse."""

    def __init__(self, store: ObjectStore, warehouse: ColumnarWarehouse) -> None:
        self.store = store
        self._hourly = WarehouseReadings(warehouse)

    def columns(self, start: datetime, end: datetime) -> ReadingColumns:
        return daily_columns(self.store, start, end)

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]:
        return self._hourly.hourly(start, end)

    def delivered_days(self) -> dict[str, date]:
        return self._hourly.delivered_days()
