"""Builders of constructed reading series for the alert detectors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from wattline.models import Generation, Reading

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
