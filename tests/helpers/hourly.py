"""Hourly rows with known numbers and Kyiv local hours, for the tests of everything that reads energy_hourly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wattline.models import HourlyEnergy

KYIV = ZoneInfo("Europe/Kyiv")
KEY = ["device_id", "channel", "hour_start"]


def hour(
    device_id: str,
    start: datetime,
    *,
    import_wh: float = 0.0,
    estimated_wh: float = 0.0,
    export_wh: float = 0.0,
    covered_s: float = 3600.0,
    gap_s: float = 0.0,
    samples: int = 120,
    counter_resets: int = 0,
    method: str = "counter",
    channel: int = 0,
) -> HourlyEnergy:
    return HourlyEnergy(
        device_id=device_id,
        channel=channel,
        hour_start=start.astimezone(UTC),
        import_wh=import_wh,
        export_wh=export_wh,
        estimated_wh=estimated_wh,
        covered_s=covered_s,
        gap_s=gap_s,
        samples=samples,
        min_power_w=0.0,
        max_power_w=2000.0,
        mean_power_w=import_wh,
        counter_resets=counter_resets,
        method=method,
    )


def local_day_hours(day: str) -> list[datetime]:
    """The UTC starts of every local hour of a Kyiv date (23, 24 or 25 of them)."""
    start = datetime.fromisoformat(day).replace(tzinfo=KYIV).astimezone(UTC)
    end = (datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=KYIV).astimezone(UTC)
    hours = []
    while start < end:
        hours.append(start)
        start += timedelta(hours=1)
    return hours


def local(day: str, clock: str) -> datetime:
    """A Kyiv wall-clock time as an aware datetime."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=KYIV)


def dumps(rows: list[HourlyEnergy]) -> list[dict[str, Any]]:
    return [row.model_dump() for row in rows]
