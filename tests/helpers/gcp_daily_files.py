"""Test helpers for the GCP half: synthetic daily files, an in-memory warehouse and publisher, a versioned store.

Daily files are written exactly as the aggregator lays them out (readings.jsonl.gz of canonical reading lines,
gzip mtime 0, plus a DailyManifest with sha256 and bytes) so the loader's verification is exercised for real.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from wattline import keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.energy import compute_hourly_arrays
from wattline.formats.columns import read_columns as read_readings
from wattline.loader import ENERGY_KEY, LoaderOptions
from wattline.models import DailyManifest, Generation, HourlyEnergy, Reading
from wattline.ports import ObjectInfo, ObjectStore

DEVICE = "shellyproem50-08f9e0e67204"
OPTIONS = LoaderOptions(timezone="Europe/Kyiv", method="auto", max_gap_s=300.0, max_event_age_s=3600.0)


def synthetic_readings(
    start: datetime, end: datetime, *, device: str = DEVICE, seed: int = 7, channels: Sequence[int] = (0, 1)
) -> list[Reading]:
    """Gen2-like readings: power on change every 20–90 s, counters about once a minute, one 20-minute outage."""
    rng = random.Random(seed)
    out: list[Reading] = []
    for channel in channels:
        ts = start + timedelta(seconds=rng.uniform(0, 30))
        total = 1000.0 * (channel + 1)
        last_counter = ts
        outage = start + (end - start) * rng.uniform(0.2, 0.8)
        while ts < end:
            if not (outage <= ts < outage + timedelta(minutes=20)):
                hour = ts.astimezone(UTC).hour
                power = 300 + 250 * math.sin(hour / 24 * 2 * math.pi) + rng.uniform(-40, 40) + 100 * channel
                received = int(ts.timestamp() * 1000) + rng.randint(5, 200)
                carries_counter = (ts - last_counter).total_seconds() >= 60
                if carries_counter:
                    total += power * (ts - last_counter).total_seconds() / 3600
                    last_counter = ts
                out.append(
                    Reading(
                        device_id=device,
                        channel=channel,
                        ts=ts,
                        received_ms=received,
                        generation=Generation.GEN2,
                        power_w=round(power, 1),
                        voltage_v=230.1,
                        energy_total_wh=round(total, 3) if carries_counter else None,
                    )
                )
            ts += timedelta(seconds=rng.uniform(20, 90))
    return out


def day_of(reading: Reading) -> date:
    return reading.ts.astimezone(UTC).date()


def encode_day(readings: Iterable[Reading], day: date, device: str = DEVICE) -> tuple[bytes, DailyManifest]:
    """readings.jsonl.gz bytes (canonical lines sorted by ts, channel) and the manifest describing them."""
    rows = sorted(readings, key=lambda r: (r.ts, r.channel if r.channel is not None else -1, r.received_ms))
    lines = [r.to_json_line() for r in rows]
    data = gzip.compress("".join(line + "\n" for line in lines).encode(), compresslevel=6, mtime=0)
    manifest = DailyManifest(
        device_id=device,
        date=day.isoformat(),
        readings=len(lines),
        envelopes=len(lines),
        duplicates=0,
        quarantined=0,
        source_objects=len(lines),
        first_ts=rows[0].ts.isoformat() if lines else None,
        last_ts=rows[-1].ts.isoformat() if lines else None,
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
        parser_version="test",
    )
    return data, manifest


def write_day(
    store: ObjectStore, readings: Iterable[Reading], day: date, device: str = DEVICE, *, manifest_first: bool = True
) -> ObjectInfo:
    """Write one day's files (manifest first, like the transfer) and return the readings object's info."""
    data, manifest = encode_day(readings, day, device)
    manifest_bytes = manifest.model_dump_json().encode()
    if manifest_first:
        store.put(keys.daily_manifest_key(day, device), manifest_bytes, content_type="application/json")
    info = store.put(keys.daily_readings_key(day, device), data, content_type="application/gzip")
    if not manifest_first:
        store.put(keys.daily_manifest_key(day, device), manifest_bytes, content_type="application/json")
    return info


def split_by_day(readings: Iterable[Reading]) -> dict[date, list[Reading]]:
    by_day: dict[date, list[Reading]] = {}
    for reading in readings:
        by_day.setdefault(day_of(reading), []).append(reading)
    return dict(sorted(by_day.items()))


def reference_rows(
    files: Mapping[date, bytes], options: LoaderOptions = OPTIONS
) -> dict[tuple[Any, ...], HourlyEnergy]:
    """energy_hourly computed once from the whole history (every file concatenated), keyed by the MERGE key."""
    columns = [read_readings(data) for _, data in sorted(files.items())]
    out: dict[tuple[Any, ...], HourlyEnergy] = {}
    devices = sorted({str(d) for cols in columns for d in cols.device_id})
    for device in devices:
        channels = sorted({c for cols in columns for c in cols.channels(device)})
        for channel in channels:
            picks = [(cols, cols.rows(device, channel)) for cols in columns]
            result = compute_hourly_arrays(
                device,
                channel,
                np.concatenate([c.ts_s[i] for c, i in picks]),
                np.concatenate([c.power_w[i] for c, i in picks]),
                np.concatenate([c.energy_total_wh[i] for c, i in picks]),
                np.concatenate([c.energy_returned_wh[i] for c, i in picks]),
                generation=Generation.GEN2 if any(c.gen2[i].any() for c, i in picks) else Generation.GEN1,
                tz=options.zone,
                method=options.method,
                max_gap_s=options.max_gap_s,
                max_power_w=options.max_power_w,
                received_ms=np.concatenate([c.received_ms[i] for c, i in picks]),
            )
            for row in result.hourly:
                out[row_key(row.model_dump())] = row
    return out


def row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    hour = row["hour_start"]
    if isinstance(hour, datetime):
        hour = hour.astimezone(UTC)
    return tuple(hour if name == "hour_start" else row[name] for name in ENERGY_KEY)


class MemoryWarehouse:
    """The Warehouse port in memory: merge_rows keeps one row per key (insert or replace)."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
        self.merges = 0

    def ensure_schema(self) -> None:
        return None

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError("the in-memory warehouse only merges")

    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        target = self.tables.setdefault(table, {})
        for row in rows:
            target[row_key(row)] = dict(row)
        self.merges += 1
        return len(rows)


class VersionedStore(MemoryObjectStore):
    """A MemoryObjectStore that reports GCS-like generations (a counter bumped on every put)."""

    def __init__(self, name: str = "bucket") -> None:
        super().__init__(name)
        self.generations: dict[str, int] = {}
        self._next = itertools.count(1_700_000_000_000_001)

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream", if_absent: bool = False
    ) -> ObjectInfo:
        info = super().put(key, data, content_type=content_type, if_absent=if_absent)
        self.generations[key] = next(self._next)
        return ObjectInfo(info.key, info.size, info.etag, str(self.generations[key]))

    def head(self, key: str) -> ObjectInfo | None:
        info = super().head(key)
        if info is None:
            return None
        return ObjectInfo(info.key, info.size, info.etag, str(self.generations[key]))


def assert_same_rows(
    actual: Mapping[tuple[Any, ...], Mapping[str, Any]], expected: Mapping[tuple[Any, ...], HourlyEnergy]
) -> None:
    """Every expected row present with equal values (floats to 1e-9 relative), and no extra rows."""
    assert sorted(actual) == sorted(expected)
    for key, row in expected.items():
        got = actual[key]
        for name, value in row.model_dump().items():
            if isinstance(value, float):
                assert math.isclose(float(got[name]), value, rel_tol=1e-9, abs_tol=1e-9), (key, name, got[name], value)
            elif name == "hour_start":
                continue
            else:
                assert got[name] == value, (key, name, got[name], value)
