"""Backfill: turn device history and MQTT captures into `raw/` objects exactly as the IoT rule would have stored them.

Sources (detected by content):
- MQTT capture, JSON Lines `{"topic", "payload", "received_at"}` (what `wattline demo` saves, what `analyze` reads);
- Gen1 `/emeter/<i>/em_data.csv`: `Date/time UTC, Active energy Wh, Returned energy Wh, Min V, Max V`, one row per
  minute with the energy of that minute;
- Gen2 `EM1Data.GetData` JSON (the bare result or the whole RPC response): `{"keys": [...], "data": [{"ts", "period",
  "values": [[...], ...]}]}`, energies per period.

Device history becomes the messages the device would have published: Gen1 `emeter/<i>/total`, `total_returned`,
`power` (the minute's mean) and `voltage`, received at the end of each minute; Gen2 `NotifyStatus` frames with
`em1data:<i>` counters and `em1:<i>` mean power, `params.ts` at the end of each period. Counters are cumulative from
the first record (0 Wh), so energy is exact per minute. Envelopes are batched into newline-delimited objects
(the Firehose layout), one batch per (UTC day, device), with content-derived names: importing twice rewrites the
same keys.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from wattline import keys
from wattline.bridge import RawRecord, batch_body, batch_key, raw_records
from wattline.ports import ObjectStore

BATCH_LINES = 2000
EM1_DATA_KEYS = (
    "total_act_energy",
    "total_act_ret_energy",
    "lag_react_energy",
    "lead_react_energy",
    "max_act_power",
    "min_act_power",
    "max_aprt_power",
    "min_aprt_power",
    "max_voltage",
    "min_voltage",
    "avg_voltage",
    "max_current",
    "min_current",
    "avg_current",
)


class ImportFormat(StrEnum):
    AUTO = "auto"
    CAPTURE = "capture"
    EM_DATA_CSV = "em-data-csv"
    EM1DATA_JSON = "em1data-json"


class ImportError_(ValueError):
    """The file cannot be imported as asked (unknown format, missing device id)."""


@dataclass
class ImportResult:
    """What one import wrote: messages per device, objects written, lines skipped with their reasons."""

    messages: int = 0
    objects: int = 0
    keys: list[str] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: int = 0
    skipped_examples: list[str] = field(default_factory=list)

    def skip(self, where: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < 5:
            self.skipped_examples.append(where)


def topic_device(topic: str) -> str | None:
    """The device id a topic names (`shellies/<id>/…` for Gen1, `<id>/…` for Gen2)."""
    parts = topic.split("/")
    if parts[0] == "shellies" and len(parts) > 1:
        return parts[1]
    return parts[0] or None


def detect_format(text: str) -> ImportFormat:
    """Capture lines start with `{` and have a topic; GetData JSON has `data`; em_data.csv starts with a date."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        first_line = stripped.split("\n", 1)[0]
        try:
            first = json.loads(first_line)
        except ValueError:
            first = None
        if isinstance(first, dict) and "topic" in first:
            return ImportFormat.CAPTURE
        try:
            whole = json.loads(stripped)
        except ValueError as exc:
            raise ImportError_("a JSON file that is neither capture lines nor EM1Data.GetData output") from exc
        if isinstance(whole, dict) and ("data" in whole or "result" in whole):
            return ImportFormat.EM1DATA_JSON
        raise ImportError_("a JSON file that is neither capture lines nor EM1Data.GetData output")
    header = stripped.split("\n", 1)[0].lower()
    if "energy" in header or header[:4].isdigit():
        return ImportFormat.EM_DATA_CSV
    raise ImportError_("unknown format: expected capture JSON Lines, em_data.csv or EM1Data.GetData JSON")


class Message(NamedTuple):
    """One MQTT message as the broker would have received it."""

    topic: str
    payload: bytes
    received_ms: int


def batch_objects(messages: Iterable[Message], *, batch_lines: int = BATCH_LINES) -> Iterator[tuple[str, bytes]]:
    """The rules' raw records, batched like Firehose: NDJSON objects of at most `batch_lines` envelopes per
    (UTC day, device), with names derived from their content (a re-import writes the same keys)."""
    groups: dict[tuple[date, str], list[RawRecord]] = defaultdict(list)
    for message in messages:
        for record in raw_records(message.topic, message.payload, message.received_ms, unique=lambda: "import"):
            groups[(record.day, record.device_segment)].append(record)
    for (day, device), members in sorted(groups.items()):
        members.sort(key=lambda record: record.envelope.received_ms)
        for first in range(0, len(members), batch_lines):
            chunk = members[first : first + batch_lines]
            data = batch_body([record.line for record in chunk])
            unique = "import-" + hashlib.sha256(data).hexdigest()[:20]
            yield batch_key(day, device, chunk[0].envelope.received_ms, unique), data


def capture_messages(text: str, result: ImportResult) -> Iterator[Message]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            payload = record["payload"]
            text_payload = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
            received_ms = round(float(record["received_at"]) * 1000)
            yield Message(str(record["topic"]), text_payload.encode("utf-8"), received_ms)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            result.skip(f"line {number}: {exc}")


def em_data_csv_messages(text: str, *, device_id: str, channel: int, result: ImportResult) -> Iterator[Message]:
    """Gen1 em_data.csv rows → the emeter topics the device publishes, received at the end of each minute."""
    prefix = f"shellies/{device_id}/emeter/{channel}"
    total = returned = 0.0
    started = False
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or not row[0].strip()[:4].isdigit():
            continue  # header or blank
        try:
            minute = datetime.fromisoformat(row[0].strip()).replace(tzinfo=UTC)
            active, ret = float(row[1]), float(row[2])
            low, high = float(row[3]), float(row[4])
        except (ValueError, IndexError) as exc:
            result.skip(f"row {number}: {exc}")
            continue
        start_ms = int(minute.timestamp() * 1000)
        if not started:
            yield Message(f"{prefix}/total", b"0.0", start_ms)
            yield Message(f"{prefix}/total_returned", b"0.0", start_ms)
            started = True
        total += active
        returned += ret
        end_ms = start_ms + 60_000
        for quantity, value in (
            ("power", f"{(active - ret) * 60:.2f}"),
            ("voltage", f"{(low + high) / 2:.2f}"),
            ("total", f"{total:.4f}"),
            ("total_returned", f"{returned:.4f}"),
        ):
            yield Message(f"{prefix}/{quantity}", value.encode(), end_ms)


def em1data_messages(document: Any, *, device_id: str, channel: int, result: ImportResult) -> Iterator[Message]:
    """EM1Data.GetData records → NotifyStatus frames with cumulative em1data counters and the period's mean power."""
    body = document.get("result", document) if isinstance(document, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ImportError_("EM1Data.GetData JSON must have a `data` list (or `result.data`)")
    names: Sequence[str] = body.get("keys") or EM1_DATA_KEYS
    total = returned = 0.0
    started = False
    topic = f"{device_id}/events/rpc"
    for block_number, block in enumerate(body["data"]):
        try:
            ts = float(block["ts"])
            period = float(block.get("period", 60))
            rows = list(block["values"])
        except (KeyError, TypeError, ValueError) as exc:
            result.skip(f"data[{block_number}]: {exc}")
            continue
        for row_number, values in enumerate(rows):
            record = dict(zip(names, values, strict=False))
            start = ts + row_number * period
            try:
                active = float(record["total_act_energy"])
                ret = float(record.get("total_act_ret_energy", 0.0))
            except (KeyError, TypeError, ValueError) as exc:
                result.skip(f"data[{block_number}].values[{row_number}]: {exc}")
                continue
            if not started:
                yield _notify(topic, device_id, channel, start, total, returned, None, None)
                started = True
            total += active
            returned += ret
            mean_w = (active - ret) * 3600 / period
            voltage = record.get("avg_voltage")
            yield _notify(topic, device_id, channel, start + period, total, returned, mean_w, voltage)


def _notify(
    topic: str,
    device_id: str,
    channel: int,
    ts: float,
    total: float,
    returned: float,
    power: float | None,
    voltage: Any,
) -> Message:
    params: dict[str, Any] = {
        "ts": round(ts, 2),
        f"em1data:{channel}": {
            "id": channel,
            "total_act_energy": round(total, 4),
            "total_act_ret_energy": round(returned, 4),
        },
    }
    if power is not None:
        em1: dict[str, Any] = {"id": channel, "act_power": round(power, 2)}
        if isinstance(voltage, int | float):
            em1["voltage"] = round(float(voltage), 1)
        params[f"em1:{channel}"] = em1
    payload = {"src": device_id, "dst": f"{device_id}/events", "method": "NotifyStatus", "params": params}
    return Message(topic, json.dumps(payload, separators=(",", ":")).encode(), round(ts * 1000))


def messages_from_text(
    text: str,
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    result: ImportResult,
) -> Iterator[Message]:
    """The MQTT messages one file holds (or stands for), in any supported format."""
    if fmt is ImportFormat.AUTO:
        fmt = detect_format(text)
    if fmt is ImportFormat.CAPTURE:
        yield from capture_messages(text, result)
        return
    if not device_id or not keys.is_safe_device_id(device_id):
        raise ImportError_(
            f"{fmt.value} files do not name their device: pass --device ID (e.g. shellyem-A4CF12F454A3), "
            "letters, digits, '-', '_' and '.' only"
        )
    if fmt is ImportFormat.EM_DATA_CSV:
        yield from em_data_csv_messages(text, device_id=device_id, channel=channel, result=result)
        return
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ImportError_(f"not valid JSON: {exc}") from exc
    yield from em1data_messages(document, device_id=device_id, channel=channel, result=result)


def import_text(
    text: str,
    store: ObjectStore,
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
) -> ImportResult:
    """Import one file's text into `store` (the raw bucket). Idempotent: the same file gives the same keys."""
    result = result or ImportResult()
    messages = list(messages_from_text(text, fmt=fmt, device_id=device_id, channel=channel, result=result))
    for message in messages:
        result.devices[topic_device(message.topic) or "?"] += 1
    result.messages += len(messages)
    for key, data in batch_objects(messages, batch_lines=batch_lines):
        store.put(key, data, content_type="application/x-ndjson")
        result.objects += 1
        result.keys.append(key)
    return result
