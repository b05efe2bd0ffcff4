"""The aggregator's Gen2 fast path (`gen2.meter_b64` straight to daily lines) changes no byte of its output."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from aggregation_helpers import DAY_START_MS, GEN2_DEVICE, aggregate_bytes

from wattline import aggregation
from wattline.parsing import gen2

FIELDS = [*gen2.EM1_FIELDS, *gen2.EM1DATA_FIELDS]
GOOD = [0, 0.0, 1, 230.1, 49.98, 0.93, 412.5, 12_345.6, 100_000]
BAD: list[Any] = [-1, -1.0, float("nan"), float("inf"), 10**13, 500.5, 2, None, True, "7", [], {"x": 1}]


@contextmanager
def general_paths_only() -> Iterator[None]:
    """The aggregator with the Gen2 fast path off: a Reading per message through `parse_envelope`."""
    with (
        mock.patch.object(aggregation, "meter_b64", lambda *_args: None),
        mock.patch.object(gen2, "meter_b64", lambda *_args: None),
    ):
        yield


def line(topic: str, received_ms: int, body: object, *, style: str) -> bytes:
    payload = json.dumps(body, allow_nan=True).encode()
    b64 = base64.b64encode(payload).decode()
    if style == "sorted":
        envelope = {"payload_b64": b64, "received_ms": received_ms, "topic": topic}
    elif style == "rule":
        envelope = {"topic": topic, "received_ms": received_ms, "payload_b64": b64}
    else:
        envelope = {"topic": topic, "received_ms": received_ms, "payload": payload.decode()}
    return json.dumps(envelope, separators=(",", ":")).encode()


def component(rnd: random.Random) -> dict[str, Any]:
    fields = rnd.sample(FIELDS, rnd.randint(1, 4))
    body: dict[str, Any] = {"id": 0, **{name: rnd.choice(GOOD) for name in fields}}
    if rnd.random() < 0.12:
        body[rnd.choice([*FIELDS, "errors"])] = rnd.choice(BAD)
    return body


def messy_gen2_day(seed: int) -> list[bytes]:
    """A Gen2 Pro EM day: deltas and full statuses on events/rpc, status topics, redeliveries (same frame minutes
    later), late frames (older device ts), same-instant frames, frames without ts, bad values and ids."""
    rnd = random.Random(seed)
    lines: list[bytes] = []
    for number in range(500):
        received_ms = DAY_START_MS + rnd.randrange(0, 86_000_000)
        style = rnd.choice(["sorted", "sorted", "sorted", "rule", "text"])
        if number % 7 == 0:
            key = rnd.choice(["em1:0", "em1:1", "em1data:0", "switch:0"])
            lines.append(line(f"{GEN2_DEVICE}/status/{key}", received_ms, component(rnd), style=style))
            continue
        ts = (received_ms - rnd.choice([30, 30, 30, 600_000, -90_000_000])) / 1000  # late, and before the day
        if number % 40 == 0:
            ts = (DAY_START_MS + 1_000 * (number % 3)) / 1000  # same instant, same channel, other values
        params: dict[str, Any] = {"ts": ts} if number % 11 else {}
        for key in rnd.sample(["em1:0", "em1:1", "em1data:0", "em1data:1", "em:0"], rnd.randint(1, 2)):
            params[key] = component(rnd)
        frame = {
            "src": rnd.choice([GEN2_DEVICE] * 8 + ["bad..id"]),
            "dst": f"{GEN2_DEVICE}/events",
            "method": rnd.choice(["NotifyStatus"] * 4 + ["NotifyFullStatus", "NotifyEvent"]),
            "params": params,
        }
        lines.append(line(f"{GEN2_DEVICE}/events/rpc", received_ms, frame, style=style))
        if number % 9 == 0:  # a redelivery of the same frame: dropped however late (it carries device time)
            lines.append(
                line(f"{GEN2_DEVICE}/events/rpc", received_ms + rnd.choice([400, 300_000]), frame, style=style)
            )
    lines += [b"not json", b"{}"]
    rnd.shuffle(lines)
    return lines


def test_a_messy_gen2_day_aggregates_to_the_same_bytes_with_and_without_the_fast_path() -> None:
    for seed, per_object in ((1, 100), (2, 1), (3, 5_000), (4, 37)):
        # Given a messy Gen2 day stored in batches (and once one message per object)
        lines = messy_gen2_day(seed)
        # When it is aggregated with the fast path, and with the general path only
        fast = aggregate_bytes(lines, per_object, GEN2_DEVICE)
        with general_paths_only():
            general = aggregate_bytes(lines, per_object, GEN2_DEVICE)
        # Then the daily file, manifest, aggregation state and counts are byte-identical
        assert fast == general
        assert fast[3]["quarantined"] and fast[3]["duplicates"]


def test_the_messy_gen2_day_takes_both_the_fast_path_and_the_general_path() -> None:
    # Given a messy Gen2 day, and a count of the fast path's answers
    answers: list[bool] = []
    real = gen2.meter_b64

    def counting(*args: Any) -> Any:
        result = real(*args)
        answers.append(result is not None)
        return result

    # When it is aggregated
    with mock.patch.object(aggregation, "meter_b64", counting):
        aggregate_bytes(messy_gen2_day(5), 100, GEN2_DEVICE)
    # Then both paths were taken many times (values out of one field's bounds make the rest go the general way)
    assert answers.count(True) > 100
    assert answers.count(False) > 20
