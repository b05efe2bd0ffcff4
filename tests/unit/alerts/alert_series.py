"""Builders of constructed reading series for the alert detectors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from wattline.formats.columns import ReadingColumns
from wattline.models import Generation, HourlyEnergy, Reading

T0 = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)


def reading(device_id: str, ts: datetime, channel: int | None = 0, **values: object) -> Reading:
    return Reading(
        device_id=device_id,
        channel=channel,
        ts=ts,
        received_ms=int(ts.timestamp() * 1000),
        generation=Generation.GEN1,
        **values,  # type: ignore[arg-type]
    )


def healthy(
    device_id: str,
    start: datetime,
    end: datetime,
    *,
    step_s: float = 30.0,
    power_w: float = 500.0,
    voltage_v: float = 230.0,
    counter_wh: float = 1000.0,
    channel: int = 0,
) -> Iterator[Reading]:
    """A flat healthy channel: constant power, nominal voltage, a counter that rises exactly with the power."""
    ts = start
    energy = counter_wh
    while ts < end:
        yield reading(device_id, ts, channel, power_w=power_w, voltage_v=voltage_v, energy_total_wh=round(energy, 3))
        ts += timedelta(seconds=step_s)
        energy += power_w * step_s / 3600


class MemoryReadings:
    """A ReadingsSource in memory: the readings of the loaded daily files, and which UTC days were loaded."""

    def __init__(self, readings: Iterable[Reading] = ()) -> None:
        self.rows: list[Reading] = list(readings)

    def columns(self, start: datetime, end: datetime) -> ReadingColumns:
        return ReadingColumns.from_readings(r for r in self.rows if start <= r.ts < end)

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]:
        return []

    def delivered_days(self) -> dict[str, date]:
        """As the loader leaves it: each device's newest UTC day with a daily file."""
        days: dict[str, date] = {}
        for r in self.rows:
            day = r.ts.astimezone(UTC).date()
            days[r.device_id] = max(days.get(r.device_id, day), day)
        return days
