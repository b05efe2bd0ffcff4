"""Parser throughput: envelope lines per second for Gen1 publish cycles and Gen2 notifications.

Lines per CPU-second of this process, best of 3. Baselines: `json.loads` of each line alone (the floor: one JSON
decode per line), and a naive pydantic path (`Envelope.model_validate_json` + a validated `Reading(...)` per
message) to show what skipping validation buys.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from wattline.models import Envelope, Generation, Reading
from wattline.parsing import Gen2State, parse_line

NOW_MS = int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp() * 1000)
GEN1_CYCLE = [
    ("power", "611.53"),
    ("reactive_power", "382.27"),
    ("voltage", "238.85"),
    ("pf", "0.85"),
    ("total", "1891.9"),
    ("total_returned", "0"),
]


def gen1_lines(count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        quantity, value = GEN1_CYCLE[i % len(GEN1_CYCLE)]
        topic = f"shellies/shellyem-B8D6E3/emeter/{(i // len(GEN1_CYCLE)) % 2}/{quantity}"
        lines.append(json.dumps({"topic": topic, "received_ms": NOW_MS - 3_600_000 + i * 1000, "payload": value}))
    return [line.encode() for line in lines]


def gen1_stored_lines(count: int) -> list[bytes]:
    """The same Gen1 messages as the IoT rules store them: the payload base64-encoded (`payload_b64`)."""
    lines = []
    for i in range(count):
        quantity, value = GEN1_CYCLE[i % len(GEN1_CYCLE)]
        topic = f"shellies/shellyem-B8D6E3/emeter/{(i // len(GEN1_CYCLE)) % 2}/{quantity}"
        payload_b64 = base64.b64encode(value.encode()).decode()
        envelope = {"payload_b64": payload_b64, "received_ms": NOW_MS - 3_600_000 + i * 1000, "topic": topic}
        lines.append(json.dumps(envelope, separators=(",", ":")))
    return [line.encode() for line in lines]


def gen2_lines(count: int) -> list[bytes]:
    lines = []
    for i in range(count):
        params = {
            "ts": (NOW_MS - 3_600_000) / 1000 + i,
            "em1:0": {"id": 0, "act_power": 200.0 + i % 50, "current": 1.2},
        }
        frame = {"src": "shellyproem50-08f9e0e67204", "dst": "x/events", "method": "NotifyStatus", "params": params}
        envelope = {
            "topic": "shellyproem50-08f9e0e67204/events/rpc",
            "received_ms": NOW_MS,
            "payload": json.dumps(frame),
        }
        lines.append(json.dumps(envelope).encode())
    return lines


def triphase_lines(count: int) -> list[bytes]:
    body = {f"{p}_{f}": 100.0 for p in "abc" for f in ("act_power", "aprt_power", "voltage", "current", "pf")}
    body.update({f"{p}_pf": 0.9 for p in "abc"} | {f"{p}_voltage": 230.0 for p in "abc"})
    frame = {
        "src": "shellypro3em-a0dd6ca0c27c",
        "method": "NotifyStatus",
        "params": {"ts": NOW_MS / 1000, "em:0": body},
    }
    envelope = {"topic": "shellypro3em-a0dd6ca0c27c/events/rpc", "received_ms": NOW_MS, "payload": json.dumps(frame)}
    return [json.dumps(envelope).encode()] * count


def naive_pydantic(line: bytes) -> Reading:
    envelope = Envelope.model_validate_json(line)
    quantity = envelope.topic.rsplit("/", 1)[1]
    field = {
        "power": "power_w",
        "reactive_power": "reactive_power_var",
        "voltage": "voltage_v",
        "pf": "pf",
        "total": "energy_total_wh",
        "total_returned": "energy_returned_total_wh",
    }[quantity]
    return Reading(
        device_id=envelope.topic.split("/")[1],
        channel=int(envelope.topic.split("/")[3]),
        ts=envelope.received_at,
        received_ms=envelope.received_ms,
        generation=Generation.GEN1,
        **{field: float(envelope.payload_text())},
    )


def rate(lines: list[bytes], func: Callable[[bytes], object], repeats: int = 3) -> float:
    best = 0.0
    for _ in range(repeats):
        start = time.process_time()  # CPU time: the machine is shared, wall time varies with its load
        for line in lines:
            func(line)
        best = max(best, len(lines) / (time.process_time() - start))
    return best


def main() -> None:
    count = 30_000
    sets = {
        "gen1 scalar": gen1_lines(count),
        "gen1 scalar, stored (payload_b64)": gen1_stored_lines(count),
        "gen2 NotifyStatus em1": gen2_lines(count),
        "gen2 NotifyStatus em (3 phases)": triphase_lines(count),
    }
    for name, lines in sets.items():
        state = Gen2State()
        parsed = rate(lines, lambda line, state=state: parse_line(line, now_ms=NOW_MS, state=state))
        floor = rate(lines, json.loads)
        print(
            f"{name:34s} parse_line {parsed:>9,.0f} lines/s   json.loads alone {floor:>9,.0f}/s ({parsed / floor:.2f}x)"
        )
    naive = rate(sets["gen1 scalar"], naive_pydantic)
    fast = rate(sets["gen1 scalar"], lambda line: parse_line(line, now_ms=NOW_MS))
    print(f"{'gen1 naive pydantic path':34s} {naive:>9,.0f} lines/s   parse_line is {fast / naive:.1f}x faster")


if __name__ == "__main__":
    main()
