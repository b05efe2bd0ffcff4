"""Write constructed readings as the aggregator's daily files: <root>/<bucket>/daily/dt=…/device=…/readings.jsonl.gz."""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from wattline.keys import daily_readings_key
from wattline.models import Generation, Reading
from wattline.ports import Warehouse


def write_daily_files(root: Path, bucket: str, readings: Iterable[Reading]) -> list[Path]:
    groups: dict[tuple[object, str], list[Reading]] = defaultdict(list)
    for reading in readings:
        groups[(reading.ts.astimezone(UTC).date(), reading.device_id)].append(reading)
    paths = []
    for (day, device_id), rows in sorted(groups.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        path = root / bucket / daily_readings_key(day, device_id)  # type: ignore[arg-type]
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(r.to_json_line() + "\n" for r in sorted(rows, key=lambda r: (r.ts, r.channel or 0)))
        path.write_bytes(gzip.compress(lines.encode()))
        paths.append(path)
    return paths


def series(
    device_id: str,
    start: datetime,
    end: datetime,
    *,
    step_s: float = 30.0,
    power_w: float = 500.0,
    voltage_v: float = 230.0,
    overrides: Iterable[tuple[datetime, datetime, dict[str, float]]] = (),
) -> list[Reading]:
    """A healthy channel-0 series (counter consistent with the power), with values overridden in intervals."""
    rules = list(overrides)
    out = []
    ts, energy = start, 10_000.0
    while ts < end:
        values: dict[str, float] = {"power_w": power_w, "voltage_v": voltage_v}
        for a, b, update in rules:
            if a <= ts < b:
                values.update(update)
        out.append(
            Reading(
                device_id=device_id,
                channel=0,
                ts=ts,
                received_ms=int(ts.timestamp() * 1000),
                generation=Generation.GEN1,
                energy_total_wh=round(energy, 3),
                **values,
            )
        )
        energy += values["power_w"] * step_s / 3600
        ts += timedelta(seconds=step_s)
    return out


def minute(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def mark_loaded(warehouse: Warehouse, readings: Iterable[Reading]) -> dict[str, date]:
    """Leave in `energy_hourly` what the loader leaves for each device-day's daily file — a row naming the file it
    came from — so detection knows the files as loaded (its freshness watermark), as after a real load."""
    newest: dict[tuple[str, date], datetime] = {}
    for reading in readings:
        day = reading.ts.astimezone(UTC).date()
        hour = reading.ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        newest[(reading.device_id, day)] = max(newest.get((reading.device_id, day), hour), hour)
    rows = [
        {
            "device_id": device,
            "channel": 0,
            "hour_start": hour,
            "import_wh": 0.0,
            "export_wh": 0.0,
            "estimated_wh": 0.0,
            "covered_s": 0.0,
            "gap_s": 0.0,
            "samples": 0,
            "counter_resets": 0,
            "method": "trapezoid",
            "source_generation": f"{daily_readings_key(day, device)}#1",
        }
        for (device, day), hour in sorted(newest.items())
    ]
    warehouse.merge_rows("energy_hourly", rows, key=["device_id", "channel", "hour_start"])
    return {device: day for device, day in sorted(newest)}
