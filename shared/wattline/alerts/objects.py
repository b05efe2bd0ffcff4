"""Readings for detection straight from the daily files in the object store (`readings_source = objects`).

The same rows `readings_ext` gives (the columns detection selects, every line of the window's files), for where
the external table returns nothing — bqemulator accepts external tables but reads no data — or is not wanted.
Hourly energy for the spike baseline still comes from the warehouse's `energy_hourly`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from wattline import keys
from wattline.alerts.store import WarehouseReadings
from wattline.errors import NotFoundError
from wattline.models import HourlyEnergy, Reading, readings_from_file
from wattline.ports import ObjectStore, Warehouse

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
    for day in _days((start - timedelta(days=1)).date(), end.date()):
        for info in store.list(f"{keys.DAILY_PREFIX}dt={day.isoformat()}/"):
            parsed = keys.parse_daily_key(info.key)
            if parsed is None or parsed[2] != keys.READINGS_FILE:
                continue
            try:
                data = store.get(info.key)
            except NotFoundError:  # replaced or removed since the listing
                continue
            found.extend(r for r in readings_of(data) if start <= r.ts < end)
    return found


def readings_of(data: bytes) -> Iterator[Reading]:
    """The readings of one daily file (gzip'd JSON lines), reduced to detection's columns."""
    return readings_from_file(data, READING_COLUMNS)


class ObjectStoreReadings:
    """A ReadingsSource: readings from the daily files in `store`, hourly energy from the warehouse."""

    def __init__(self, store: ObjectStore, warehouse: Warehouse) -> None:
        self.store = store
        self._hourly = WarehouseReadings(warehouse)

    def readings(self, start: datetime, end: datetime) -> list[Reading]:
        return daily_readings(self.store, start, end)

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]:
        return self._hourly.hourly(start, end)

    def delivered_days(self) -> dict[str, date]:
        return self._hourly.delivered_days()
