"""Write constructed readings as the aggregator's daily files: <root>/<bucket>/daily/dt=…/device=…/readings.jsonl.gz."""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wattline.keys import daily_readings_key
from wattline.models import Generation, Reading


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
