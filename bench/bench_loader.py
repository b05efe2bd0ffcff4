"""GCP loader figures: the columnar readings reader vs a json.loads per line, and one whole load of a busy day.

A Gen1 EM publishes ~16 messages every 30 s: ~46k readings per device-day. The file is built in memory from
synthetic readings (no fixture, no network); the load runs on in-memory ports, so the figure is the domain's
cost (parse, boundary selection, engine, rows), not the warehouse's.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from helpers.gcp_daily_files import encode_day  # tests/ is on the path: `make bench` sets PYTHONPATH

from wattline import keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.formats.columns import read_columns as read_readings
from wattline.loader import FinalizedObject, LoaderOptions, load_daily_file
from wattline.models import Generation, Reading

DEVICE = "shellyem-C45BBE6B1234"


def day_file(day: date, seed: int) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    readings: list[Reading] = []
    for channel in (0, 1):
        total = 1000.0
        for step in range(2880):  # every 30 s
            ts = start + timedelta(seconds=30 * step + rng.uniform(0, 0.5))
            power = 400 + 300 * math.sin(step / 2880 * 2 * math.pi) + rng.uniform(-20, 20)
            total += power * 30 / 3600
            base = {"device_id": DEVICE, "channel": channel, "ts": ts, "received_ms": int(ts.timestamp() * 1000)}
            for quantity, value in (
                ("power_w", power),
                ("voltage_v", 230.0),
                ("reactive_power_var", 12.0),
                ("pf", 0.98),
                ("energy_total_wh", total),
                ("energy_returned_total_wh", 0.0),
                ("current_a", power / 230),
                ("freq_hz", 50.0),
            ):
                readings.append(Reading(**base, generation=Generation.GEN1, **{quantity: round(value, 3)}))
    data, manifest = encode_day(readings, day, DEVICE)  # the tests' encoder: the aggregator's order and manifest
    return data, manifest.model_dump_json().encode()


class NullWarehouse:
    def ensure_schema(self) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return []

    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        return len(rows)


class NullPublisher:
    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        return "1"


def best(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    days = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)]
    store = MemoryObjectStore("bench")
    for i, day in enumerate(days):
        data, manifest = day_file(day, i)
        store.put(keys.daily_manifest_key(day, DEVICE), manifest)
        store.put(keys.daily_readings_key(day, DEVICE), data)
    data = store.get(keys.daily_readings_key(days[1], DEVICE))
    raw = gzip.decompress(data)
    n = len(read_readings(data))
    per_line = best(lambda: [json.loads(line) for line in raw.splitlines()])
    columnar = best(lambda: read_readings(data))
    print(f"readings per day file: {n} ({len(data) / 1024:.0f} KiB gzip)")
    print(f"json.loads per line (baseline): {n / per_line:,.0f} lines/s")
    print(f"read_readings (columns):        {n / columnar:,.0f} lines/s  (incl. gunzip + arrays)")
    event = FinalizedObject("bench", keys.daily_readings_key(days[1], DEVICE))
    options = LoaderOptions(timezone="Europe/Kyiv")
    result = load_daily_file(event, store=store, warehouse=NullWarehouse(), publisher=NullPublisher(), options=options)
    whole = best(
        lambda: load_daily_file(
            event, store=store, warehouse=NullWarehouse(), publisher=NullPublisher(), options=options
        )
    )
    print(f"load_daily_file (day + both neighbours' boundary hours, {result.rows} rows): {whole * 1000:.0f} ms")
