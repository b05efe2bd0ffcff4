"""Builders shared by the energy tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wattline.models import Generation, Reading

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a whole UTC hour; Europe/Kyiv is UTC+2 then, also whole
DEVICE = "shellyem-AABBCCDDEEFF"


def at(seconds: float, base: datetime = T0) -> datetime:
    return base + timedelta(seconds=seconds)


def power(
    seconds: float,
    watts: float,
    *,
    channel: int = 0,
    received_ms: int = 0,
    generation: Generation = Generation.GEN1,
    base: datetime = T0,
) -> Reading:
    return Reading(
        device_id=DEVICE,
        channel=channel,
        ts=at(seconds, base),
        received_ms=received_ms,
        generation=generation,
        power_w=watts,
    )


def counter(
    seconds: float,
    total_wh: float | None = None,
    *,
    returned_wh: float | None = None,
    channel: int = 0,
    generation: Generation = Generation.GEN1,
    base: datetime = T0,
) -> Reading:
    return Reading(
        device_id=DEVICE,
        channel=channel,
        ts=at(seconds, base),
        received_ms=0,
        generation=generation,
        energy_total_wh=total_wh,
        energy_returned_total_wh=returned_wh,
    )


def series(points: list[tuple[float, float]], **kwargs: object) -> list[Reading]:
    return [power(t, w, **kwargs) for t, w in points]  # type: ignore[arg-type]
