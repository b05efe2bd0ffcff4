"""Raw objects as the direct IoT rule writes them (one envelope, key named by the receive time), for tests of the
near-real-time path, and what the batch detector makes of them."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wattline import keys
from wattline.alerts.detect import detect_all
from wattline.alerts.model import Alert
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns
from wattline.models import Envelope, Reading
from wattline.parsing import parse_object
from wattline.ports import ObjectStore


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def put_raw(store: ObjectStore, device: str, ts: datetime, topic: str, payload: str | dict[str, Any]) -> str:
    """One raw object received at `ts`: text payloads base64 (as the rule stores them), JSON ones embedded."""
    if isinstance(payload, str):
        envelope = Envelope(topic=topic, received_ms=ms(ts), payload_b64=base64.b64encode(payload.encode()).decode())
    else:
        envelope = Envelope(topic=topic, received_ms=ms(ts), payload=payload)
    key = keys.raw_key(ts.astimezone(UTC).date(), device, ms(ts), str(uuid.uuid4()))
    store.put(key, envelope.to_json_line().encode(), content_type="application/json")
    return key


def gen1_power(store: ObjectStore, device: str, start: datetime, end: datetime, every_s: float = 60.0) -> list[str]:
    """Gen1 `emeter/0/power` messages from `start` up to and including `end`."""
    written = []
    ts = start
    while ts <= end:
        written.append(put_raw(store, device, ts, f"shellies/{device}/emeter/0/power", "120.5"))
        ts += timedelta(seconds=every_s)
    return written


def gen2_power(store: ObjectStore, device: str, start: datetime, end: datetime, every_s: float = 60.0) -> list[str]:
    """Gen2 NotifyStatus frames (device time `params.ts` a little before the receive time)."""
    written = []
    ts = start
    while ts <= end:
        frame = {
            "src": device,
            "dst": f"{device}/events",
            "method": "NotifyStatus",
            "params": {"ts": (ts - timedelta(milliseconds=250)).timestamp(), "em1:0": {"id": 0, "act_power": 85.0}},
        }
        written.append(put_raw(store, device, ts, f"{device}/events/rpc", frame))
        ts += timedelta(seconds=every_s)
    return written


def lwt(store: ObjectStore, device: str, ts: datetime, gen1: bool = True) -> str:
    """The MQTT last will `online=false` the broker publishes for a device that dropped off."""
    topic = f"shellies/{device}/online" if gen1 else f"{device}/online"
    return put_raw(store, device, ts, topic, "false")


def readings_in(store: ObjectStore, prefix: str = keys.RAW_PREFIX) -> list[Reading]:
    """Every reading of every raw object under `prefix`, parsed as validate and aggregate parse them."""
    return [
        reading
        for info in store.list(prefix)
        for outcome in parse_object(store.get(info.key), source_key=info.key)
        for reading in outcome.readings
    ]


def batch_alerts(readings: Iterable[Reading], now: datetime, tz: ZoneInfo, thresholds: Thresholds) -> list[Alert]:
    """What the batch detector finds in these readings at `now`."""
    return detect_all(ReadingColumns.from_readings(readings), thresholds=thresholds, tz=tz, open_until=now)
