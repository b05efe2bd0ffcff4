"""Aggregator throughput: messages per second through `aggregate_day` on the filesystem object store.

Two layouts of the same kind of day: one object per message (the IoT rule's direct mode) and newline-delimited
batches (Firehose mode). Next to each: the time just to list and read the same bytes, so the figure separates
storage cost from parse + dedup + sort + gzip cost. Target (issue 11): >= 200k msg per CPU-second for batched objects.
The process keeps its freed memory for the next day as the aggregate Lambda does
(`process_memory.keep_freed_memory_for_the_next_day`); the batched layouts are first measured with glibc's defaults.
Run: `make bench` or `.venv/bin/python bench/bench_aggregator.py [messages]`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from wattline import process_memory
from wattline.adapters.fs_store import FsObjectStore
from wattline.aggregation import aggregate_day, list_keys, read_objects, reference_now_ms
from wattline.bridge import batch_body, batch_key, raw_records
from wattline.keys import raw_prefix
from wattline.parsing import Gen2State, parse_object

DAY = date(2026, 11, 26)
DAY_START_MS = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp() * 1000)
GEN1 = "shellyem3-68C63AFAF952"
GEN2 = "shellyproem50-08f9e0e67204"
GEN1_QUANTITIES = ("power", "reactive_power", "voltage", "pf", "current", "total", "total_returned")


def gen1_day(messages: int) -> list[tuple[str, bytes, int]]:
    """A Gen1 3EM publishing 3 channels x 7 quantities per cycle (30 s on the device; here spread to fit `messages`
    into one UTC day), about 1 % of messages redelivered 0.4 s later."""
    out: list[tuple[str, bytes, int]] = []
    period_ms = max(100, 86_400_000 // (messages // 21 + 2))
    cycle = 0
    while len(out) < messages:
        at = DAY_START_MS + cycle * period_ms
        for channel in range(3):
            power = 100 + (cycle * 7 + channel) % 900 / 10
            values = {
                "power": power,
                "reactive_power": power / 3,
                "voltage": 230 + (cycle % 7) * 0.3,
                "pf": 0.9,
                "current": power / 230,
                "total": 10_000 + cycle * 0.8,
                "total_returned": 12.5,
            }
            for index, quantity in enumerate(GEN1_QUANTITIES):
                text = f"{values[quantity]:.2f}"
                topic = f"shellies/{GEN1}/emeter/{channel}/{quantity}"
                out.append((topic, text.encode(), at + channel * 10 + index))
                if (cycle + index) % 100 == 0:
                    out.append((topic, text.encode(), at + channel * 10 + index + 400))
        cycle += 1
    return out[:messages]


def gen2_day(messages: int) -> list[tuple[str, bytes, int]]:
    """A Gen2 Pro EM: NotifyStatus power deltas, and a full em1 status every 12th step (spread over one UTC day)."""
    out: list[tuple[str, bytes, int]] = []
    period_ms = max(100, 86_400_000 // (messages + 2))
    step = 0
    while len(out) < messages:
        at = DAY_START_MS + step * period_ms
        if step % 12 == 0:
            status = {"id": 0, "current": 2.4, "voltage": 231.0, "act_power": 500.0, "aprt_power": 560.0, "pf": 0.9}
            out.append((f"{GEN2}/status/em1:0", json.dumps(status).encode(), at))
        frame = {
            "src": GEN2,
            "dst": f"{GEN2}/events",
            "method": "NotifyStatus",
            "params": {"ts": (at + 30) / 1000, "em1:0": {"id": 0, "act_power": 400.0 + step % 300}},
        }
        out.append((f"{GEN2}/events/rpc", json.dumps(frame, separators=(",", ":")).encode(), at + 40))
        step += 1
    return out[:messages]


def write(store: FsObjectStore, messages: list[tuple[str, bytes, int]], batch: int | None) -> int:
    lines: list[tuple[str, bytes, int, date, str]] = []
    for number, (topic, payload, received_ms) in enumerate(messages):
        for record in raw_records(topic, payload, received_ms, unique=lambda n=number: f"{n:08d}"):
            if batch is None:
                store.put(record.key, record.line)
            else:
                lines.append((record.key, record.line, received_ms, record.day, record.device_segment))
    if batch is not None:
        for start in range(0, len(lines), batch):
            chunk = lines[start : start + batch]
            key = batch_key(chunk[0][3], chunk[0][4], chunk[0][2], f"{start:08d}")
            store.put(key, batch_body([line for _k, line, _ms, _d, _s in chunk]))
    return len(messages)


REPEATS = 5  # aggregation runs; the parser alone and the 4-reader runs: SIDE_REPEATS
SIDE_REPEATS = 3


def measure(label: str, device: str, messages: list[tuple[str, bytes, int]], batch: int | None) -> float:
    """Prints one row; returns aggregate msg per CPU-second (best of REPEATS runs after a warm-up run)."""
    with tempfile.TemporaryDirectory(prefix="wattline-bench-") as directory:
        store = FsObjectStore(Path(directory) / "bucket")
        count = write(store, messages, batch)
        prefix = raw_prefix(DAY, device)
        started = time.perf_counter()
        keys = list_keys(store, prefix)
        size = sum(len(data) for data in read_objects(store, keys, concurrency=1))
        read_s = time.perf_counter() - started
        result = aggregate_day(store, DAY, device, concurrency=1)  # warm-up (also fills the page cache)
        wall, cpu, parse_cpu, threaded = [], [], [], []
        for repeat in range(REPEATS):
            started, used = time.perf_counter(), time.process_time()
            aggregate_day(store, DAY, device, concurrency=1)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
            if repeat >= SIDE_REPEATS:
                continue
            used, state = time.process_time(), Gen2State()
            for key in keys:  # the parser alone on the same bytes (one Gen2State, like aggregate_day)
                parse_object(store.get(key), source_key=key, now_ms=reference_now_ms(DAY), state=state)
            parse_cpu.append(time.process_time() - used)
            started = time.perf_counter()
            aggregate_day(store, DAY, device, concurrency=4)
            threaded.append(time.perf_counter() - started)
    rate = count / min(cpu)
    print(
        f"{label:<36} {count:>7} msgs {len(keys):>6} objects {size / 1e6:5.1f} MB | read only {read_s:5.2f} s wall "
        f"| aggregate {min(cpu):5.2f} s CPU = {rate:>7,.0f} msg/CPU-s ({count / min(wall):>7,.0f} msg/s wall, "
        f"4 readers {count / min(threaded):>7,.0f}) | parser alone {count / min(parse_cpu):>7,.0f} msg/CPU-s "
        f"| kept {result.counts.kept} dup {result.counts.duplicates} quarantined {result.counts.quarantined}"
    )
    return rate


def reference_loop_s() -> float:
    """CPU seconds for a fixed pure-Python loop (about 0.4 s on an idle modern core): scale the figures by it."""
    started = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.process_time() - started


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    per_message = max(1_000, total // 5)
    python = sys.version.split()[0]
    print(f"aggregate_day on FsObjectStore, one device-day, 1 reader thread, best of {REPEATS}, Python {python}")
    gen1_batched, gen2_batched = gen1_day(total), gen2_day(total)
    measure("Gen1, batched, glibc malloc defaults", GEN1, gen1_batched, 5_000)
    measure("Gen2, batched, glibc malloc defaults", GEN2, gen2_batched, 5_000)
    kept = process_memory.keep_freed_memory_for_the_next_day()
    print(f"freed memory kept for the next day, as the aggregate Lambda does: {'yes' if kept else 'no (not glibc)'}")
    measure("Gen1, one object per message", GEN1, gen1_day(per_message), None)
    gen1_rate = measure("Gen1, batched (5000 msgs/object)", GEN1, gen1_batched, 5_000)
    measure("Gen2, one object per message", GEN2, gen2_day(per_message), None)
    gen2_rate = measure("Gen2, batched (5000 msgs/object)", GEN2, gen2_batched, 5_000)
    reference = reference_loop_s()
    print(f"reference loop: {reference:.2f} CPU s (idle modern core ~0.4 s; higher means a slower or contended CPU)")
    target = 200_000  # issue 11
    verdicts = ["meets" if rate >= target else "is below" for rate in (gen1_rate, gen2_rate)]
    print(
        f"batched, per CPU-second (target {target:,} msg/s on one core): Gen1 {gen1_rate:,.0f} msg/s "
        f"({verdicts[0]} it), Gen2 {gen2_rate:,.0f} msg/s ({verdicts[1]} it)"
    )


if __name__ == "__main__":
    main()
