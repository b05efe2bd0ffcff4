"""Real-format Shelly messages (from tests/fixtures/shelly-payloads.json) and raw objects built from them."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from wattline import keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import aggregate_day, aggregation_state_key
from wattline.bridge import batch_body, batch_key, raw_records
from wattline.ports import ObjectStore

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shelly-payloads.json"
DAY = date(2026, 11, 26)
DAY_START_MS = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp() * 1000)
GEN1_DEVICE = "shellyem3-68C63AFAF952"
GEN2_DEVICE = "shelly3em63g3-48f6eead1a8c"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    received_ms: int


def fixture_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["records"]
    return records


def gen1_cycle() -> list[tuple[str, bytes]]:
    """One publish cycle of a real Gen1 3EM (records p056-p068: relay + emeter 0..2 power/pf/current/voltage)."""
    return [
        (record["topic"], record["raw_text"].encode())
        for record in fixture_records()
        if record["category"] == "mqtt_gen1" and record["device_id"] == GEN1_DEVICE
    ]


def gen2_status(channel: int) -> dict[str, Any]:
    """A real Gen2 em1 component status (records p081/p082: <id>/status/em1:<n>)."""
    for record in fixture_records():
        if record["category"] == "mqtt_gen2_status_topic" and record["topic"].endswith(f"em1:{channel}"):
            status: dict[str, Any] = json.loads(record["raw_text"])
            return status
    raise LookupError(channel)


def gen2_notify(ts: float, channel: int, fields: dict[str, Any], method: str = "NotifyStatus") -> bytes:
    """A JSON-RPC notification on <id>/events/rpc, the frame shape of record p083, carrying an em1 component."""
    frame = {
        "src": GEN2_DEVICE,
        "dst": f"{GEN2_DEVICE}/events",
        "method": method,
        "params": {"ts": ts, f"em1:{channel}": {"id": channel, **fields}},
    }
    return json.dumps(frame, separators=(",", ":")).encode()


def day_of_messages(start_ms: int = DAY_START_MS + 3_600_000, cycles: int = 4) -> list[Message]:
    """A small day of two devices: Gen1 cycles every 30 s and Gen2 full status + NotifyStatus deltas."""
    messages: list[Message] = []
    for cycle in range(cycles):
        at = start_ms + cycle * 30_000
        for offset, (topic, payload) in enumerate(gen1_cycle()):
            messages.append(Message(topic, payload, at + offset))
        status = gen2_status(0)
        messages.append(Message(f"{GEN2_DEVICE}/status/em1:0", json.dumps(status).encode(), at + 100))
        ts = (at + 150) / 1000
        delta = {"act_power": 100.0 + cycle, "current": 0.5}
        messages.append(Message(f"{GEN2_DEVICE}/events/rpc", gen2_notify(ts, 0, delta), at + 200))
    return messages


def put_direct(store: ObjectStore, messages: list[Message]) -> list[str]:
    """One raw object per message, exactly as the IoT rule (or the bridge in direct mode) writes it."""
    counter = itertools.count()
    written: list[str] = []
    for message in messages:
        for record in raw_records(
            message.topic, message.payload, message.received_ms, unique=lambda: f"u{next(counter):06d}"
        ):
            store.put(record.key, record.line)
            written.append(record.key)
    return written


def put_batched(store: ObjectStore, messages: list[Message], per_object: int = 5) -> list[str]:
    """Newline-delimited batches per device-day, as Firehose with dynamic partitioning writes them."""
    partitions: dict[tuple[date, str], list[tuple[int, bytes]]] = {}
    for message in messages:
        for record in raw_records(message.topic, message.payload, message.received_ms, unique=lambda: "x"):
            partitions.setdefault((record.day, record.device_segment), []).append(
                (record.envelope.received_ms, record.line)
            )
    written: list[str] = []
    for (day, device), items in sorted(partitions.items()):
        for start in range(0, len(items), per_object):
            chunk = items[start : start + per_object]
            key = batch_key(day, device, chunk[0][0], f"b{start:06d}")
            store.put(key, batch_body([line for _ms, line in chunk]))
            written.append(key)
    return written


def aggregate_bytes(lines: list[bytes], per_object: int, device: str) -> tuple[bytes, bytes, bytes, dict[str, object]]:
    """One device's day stored as batches of `per_object` envelope lines, aggregated: daily file, manifest,
    aggregation state and counts — what the fast-path tests compare byte for byte."""
    store = MemoryObjectStore()
    prefix = keys.raw_prefix(DAY, device)
    for start in range(0, len(lines), per_object):
        store.put(f"{prefix}batch-{start:06d}.jsonl", batch_body(lines[start : start + per_object]))
    result = aggregate_day(store, DAY, device, concurrency=1)
    return (
        store.get(keys.daily_readings_key(DAY, device)),
        store.get(keys.daily_manifest_key(DAY, device)),
        store.get(aggregation_state_key(DAY, device)),
        result.as_dict(),
    )
