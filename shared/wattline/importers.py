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

Nothing a file holds is lost unseen:
- every capture message goes to raw/ — where the rules put it, or, on a topic no rule stores, under the device its
  topic names (`bridge.raw_records(keep_unmatched=True)`), so validate and the aggregator quarantine it with a reason
  and `wattline status` counts it (received = kept + quarantined + duplicates);
- a capture line that is no message (the rule of `wattline.parsing.lines`, which `analyze` applies too), and a
  device-history row or record that cannot be right (a time outside 2015-01-01 … now + 1 day, an energy or voltage
  that is not a finite number within the parsers' limits, an EM1Data period that is not a positive number) is
  counted and reported with its file name and line (its JSON path in a GetData document), and the rest goes on;
- files are read as streams, plain or gzip by content (`wattline.inputs`): a truncated gzip keeps the lines before
  the break and is reported; a file larger than `max_bytes` once decompressed is refused whole (nothing written).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import operator
import struct
import tempfile
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, NamedTuple

from pydantic_core import from_json

from wattline import keys
from wattline.bridge import batch_body, batch_key, raw_segments, utc_day
from wattline.formats.frames import envelope_lines
from wattline.inputs import LineReader, NumberedLine, text_lines, text_of
from wattline.parsing import limits
from wattline.parsing.lines import (
    LineError,
    LineProblems,
    capture_message,
    check_window,
    is_capture_record,
    is_reading_record,
    json_object,
    load_object,
    typed_capture,
    typed_capture_columns,
)
from wattline.ports import ObjectStore

BATCH_LINES = 2000
BLOCK_LINES = 2048
"""Messages (and lines of a text) taken a block at a time; a file's lines come as `LineReader.raw_blocks` reads them."""
DETECT_LINES = 50
"""How many non-blank lines format detection looks at for a capture line (a messy capture may start badly)."""
MAX_MINUTE_WH = limits.MAX_ABS_POWER_W / 60
"""The most energy one em_data.csv minute can hold: the parsers' power limit for a whole minute."""
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
class ImportResult(LineProblems):
    """What an import wrote: messages, objects and envelopes per raw device partition; the lines (rows, records)
    that were invalid, with file name, line and why; the files cut short or refused."""

    messages: int = 0
    objects: int = 0
    keys: list[str] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def skipped(self) -> int:
        """The invalid lines (the name of earlier versions)."""
        return self.invalid_lines

    @property
    def skipped_examples(self) -> list[str]:
        return self.invalid_examples


def detect_format(text: str) -> ImportFormat:
    """A capture has a JSON object with a topic among its first `DETECT_LINES` non-blank lines (however bad the
    others); else a file starting with `{` is GetData JSON, one starting with a header or a date em_data.csv."""
    return _detect(text_lines(text))[1]


def _detect(lines: Iterator[NumberedLine]) -> tuple[list[NumberedLine], ImportFormat]:
    """The format, from the first non-blank lines (returned, to be read again)."""
    head: list[NumberedLine] = []
    first: str | None = None
    seen = 0
    for number, line in lines:
        head.append((number, line))
        if not line.strip():
            continue
        seen += 1
        first = first or line.lstrip()
        record = load_object(line) if "{" in line else None
        if record is not None and is_capture_record(record):
            return head, ImportFormat.CAPTURE  # a capture, even when its first lines are bad
        if seen >= DETECT_LINES:
            break
    if first is None:
        raise ImportError_("an empty file")
    if first.startswith("{"):
        return head, ImportFormat.EM1DATA_JSON  # or neither: reading the document says which
    header = first.lower()
    if "energy" in header or header[:4].isdigit():
        return head, ImportFormat.EM_DATA_CSV
    raise ImportError_("unknown format: expected capture JSON Lines, em_data.csv or EM1Data.GetData JSON")


class Message(NamedTuple):
    """One MQTT message as the broker would have received it."""

    topic: str
    payload: bytes
    received_ms: int


class _Block(NamedTuple):
    """Messages column by column, in input order (no object per message)."""

    topics: list[str]
    payloads: list[bytes]
    received_ms: list[int]


def batch_objects(
    messages: Iterable[Message],
    *,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
    spill_bytes: int | None = None,
) -> Iterator[tuple[str, bytes]]:
    """The rules' raw records, batched like Firehose: NDJSON objects of at most `batch_lines` envelopes per
    (UTC day, device), with names derived from their content (a re-import writes the same keys). A message on a
    topic no rule stores is kept too, under the device its topic names (`raw_segments(keep_unmatched=True)`).

    Every message is read before the first object is yielded (a file refused part-way writes nothing). Lines wait
    in memory up to `spill_bytes` (default `SPILL_BYTES`), then in one temporary file per (day, device): memory
    holds one device-day at a time however large the input."""
    return _batch_blocks(_blocks_of(messages), batch_lines=batch_lines, result=result, spill_bytes=spill_bytes)


def _blocks_of(messages: Iterable[Message]) -> Iterator[_Block]:
    stream = iter(messages)
    while chunk := list(itertools.islice(stream, BLOCK_LINES)):
        yield _Block([m.topic for m in chunk], [m.payload for m in chunk], [m.received_ms for m in chunk])


def _batch_blocks(
    blocks: Iterable[_Block],
    *,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
    spill_bytes: int | None = None,
) -> Iterator[tuple[str, bytes]]:
    """`batch_objects` of messages given block by block. A block's envelope lines are written in one call
    (`envelope_lines`) per run of messages of the same (UTC day, raw partitions), cut where its group reaches a
    multiple of `batch_lines`: a group whose lines are in receive order already (the usual capture) is batched by
    joining its runs, without a sort; any other is sorted (stable: equal receive times keep their input order)."""
    groups = _SpilledGroups(SPILL_BYTES if spill_bytes is None else spill_bytes)
    segments_of = _Segments()
    read = 0
    devices: dict[str, int] = defaultdict(int)
    with groups:
        for block in blocks:
            read += len(block.topics)
            for day, segments, run in _runs(block, segments_of):
                for segment in segments:
                    key = (day, segment)
                    for part in _cut(run, batch_lines - groups.lines(key) % batch_lines, batch_lines):
                        body = envelope_lines(part.topics, part.received_ms, part.payloads)  # payloads base64
                        groups.add(key, array("q", part.received_ms), body)
                    devices[segment] += len(run.topics)
        if result is not None:  # counted once the whole input was read: a file refused part-way counts nothing
            result.messages += read
            for device, count in devices.items():
                result.devices[device] += count
        for (day, device), times, bodies in groups.sorted():
            yield from _batches(day, device, times, bodies, batch_lines)


DAY_MS = 86_400_000


class _Segments(dict[str, tuple[str, ...]]):
    """`raw_segments(topic, keep_unmatched=True)`, remembered for the last few thousand distinct topics."""

    def __missing__(self, topic: str) -> tuple[str, ...]:
        if len(self) >= 4096:
            self.clear()
        segments = self[topic] = raw_segments(topic, keep_unmatched=True)
        return segments


def _runs(block: _Block, segments_of: _Segments) -> Iterator[tuple[date, tuple[str, ...], _Block]]:
    """A block's messages in runs of one (UTC day, raw partitions), each in input order: usually the whole block.
    The UTC day of a receive time (`utc_day`) is `received_ms // DAY_MS` days after 1970-01-01."""
    topics, payloads, received = block
    if not topics:
        return
    segments = list(map(segments_of.__getitem__, topics))
    first = segments[0]
    if min(received) // DAY_MS == max(received) // DAY_MS and segments.count(first) == len(segments):
        yield utc_day(received[0]), first, block
        return
    members: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    for index, (received_ms, segment) in enumerate(zip(received, segments, strict=True)):
        members.setdefault((received_ms // DAY_MS, segment), []).append(index)
    for (_day, segment), indexes in members.items():
        run = _Block([topics[i] for i in indexes], [payloads[i] for i in indexes], [received[i] for i in indexes])
        yield utc_day(run.received_ms[0]), segment, run


def _cut(run: _Block, first: int, size: int) -> Iterator[_Block]:
    """A run in parts of `first` messages, then `size` messages (the last part shorter)."""
    total = len(run.topics)
    if total <= first:
        yield run
        return
    start, end = 0, first
    while start < total:
        yield _Block(run.topics[start:end], run.payloads[start:end], run.received_ms[start:end])
        start, end = end, end + size


def _batches(
    day: date, device: str, times: array[int], bodies: Iterator[tuple[int, bytes]], batch_lines: int
) -> Iterator[tuple[str, bytes]]:
    """One group's envelope lines (`bodies`: NDJSON runs in input order with their line counts, cut at multiples of
    `batch_lines`; `times`: their receive times) as objects of at most `batch_lines` lines sorted by receive time
    (stable), named by `batch_key`."""
    received = times.tolist()
    if all(map(operator.le, received, itertools.islice(received, 1, None))):  # in order already: no sort
        for first, data in zip(range(0, len(received), batch_lines), _line_chunks(bodies, batch_lines), strict=True):
            yield batch_key(day, device, received[first], _unique(data)), data  # data == batch_body(its lines)
        return
    lines = b"".join(body for _lines, body in bodies).split(b"\n")
    order = sorted(range(len(received)), key=received.__getitem__)  # stable: equal times keep input order
    for first in range(0, len(order), batch_lines):
        chunk = order[first : first + batch_lines]
        data = batch_body([lines[i] for i in chunk])
        yield batch_key(day, device, received[chunk[0]], _unique(data)), data


def _line_chunks(bodies: Iterator[tuple[int, bytes]], batch_lines: int) -> Iterator[bytes]:
    """NDJSON runs (line count, lines) cut at multiples of `batch_lines` (`_cut`), joined into `batch_lines` lines
    each (the last one shorter)."""
    pieces: list[bytes] = []
    count = 0
    for lines, body in bodies:
        pieces.append(body)
        count += lines
        if count >= batch_lines:
            assert count == batch_lines, "runs are cut at multiples of batch_lines"
            yield b"".join(pieces)
            pieces, count = [], 0
    if pieces:
        yield b"".join(pieces)


def _unique(data: bytes) -> str:
    return "import-" + hashlib.sha256(data).hexdigest()[:20]


SPILL_BYTES = 64 * 1024 * 1024
"""Envelope bytes an import holds in memory before it moves them to temporary files."""
_RUN = struct.Struct("<QQ")  # a spilled run: lines, body bytes; then the receive times (int64), then the body


class _SpilledGroups:
    """Runs of envelope lines (receive times, NDJSON body) per (UTC day, device), in memory up to `SPILL_BYTES`,
    then appended to one temporary file per group; `sorted()` gives each group whole (file then memory: input order
    kept), one at a time, in key order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._memory: dict[tuple[date, str], list[tuple[array[int], bytes]]] = defaultdict(list)
        self._files: dict[tuple[date, str], IO[bytes]] = {}
        self._held = 0
        self._lines: dict[tuple[date, str], int] = defaultdict(int)

    def __enter__(self) -> _SpilledGroups:
        return self

    def __exit__(self, *_exc: object) -> None:
        for handle in self._files.values():
            handle.close()

    def lines(self, key: tuple[date, str]) -> int:
        """How many lines the group holds."""
        return self._lines[key]

    def add(self, key: tuple[date, str], times: array[int], body: bytes) -> None:
        self._memory[key].append((times, body))
        self._lines[key] += len(times)
        self._held += len(body) + 8 * len(times) + 64
        if self._held > self.limit:
            self._spill()

    def _spill(self) -> None:
        for key, runs in self._memory.items():
            handle = self._files.get(key)
            if handle is None:
                handle = self._files[key] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
            for times, body in runs:
                handle.write(_RUN.pack(len(times), len(body)))
                handle.write(times.tobytes())
                handle.write(body)
        self._memory.clear()
        self._held = 0

    def sorted(self) -> Iterator[tuple[tuple[date, str], array[int], Iterator[tuple[int, bytes]]]]:
        """Each group: its receive times and its runs' (line count, body), read from its file as they are used."""
        for key in sorted(self._memory.keys() | self._files.keys()):
            handle = self._files.pop(key, None)
            in_memory = self._memory.pop(key, [])
            times = array("q")
            if handle is not None:
                for spilled_times in _spilled_times(handle):
                    times.extend(spilled_times)
            for run_times, _body in in_memory:
                times.extend(run_times)
            yield key, times, self._bodies(handle, in_memory)

    @staticmethod
    def _bodies(handle: IO[bytes] | None, in_memory: list[tuple[array[int], bytes]]) -> Iterator[tuple[int, bytes]]:
        if handle is not None:
            with handle:
                yield from _spilled_bodies(handle)
        in_memory.reverse()
        while in_memory:
            times, body = in_memory.pop()
            yield len(times), body


def _spilled_times(handle: IO[bytes]) -> Iterator[array[int]]:
    """A group file's runs' receive times (their bodies skipped)."""
    handle.seek(0)
    while header := handle.read(_RUN.size):
        lines, size = _RUN.unpack(header)
        times = array("q")
        times.frombytes(handle.read(8 * lines))
        handle.seek(size, 1)
        yield times


def _spilled_bodies(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """A group file's runs' (line count, body) (their receive times skipped)."""
    handle.seek(0)
    while header := handle.read(_RUN.size):
        lines, size = _RUN.unpack(header)
        handle.seek(8 * lines, 1)
        yield lines, handle.read(size)


def capture_messages(
    name: str, lines: Iterable[NumberedLine], result: ImportResult, *, now_ms: int
) -> Iterator[Message]:
    """Capture lines → messages, by the rule `analyze` applies (`wattline.parsing.lines`); invalid lines counted."""
    for number, line in lines:
        if not line.strip():
            continue
        typed = typed_capture(line, now_ms=now_ms)
        if typed is not None:
            yield Message(typed.topic, typed.payload.encode("utf-8", "surrogatepass"), typed.received_ms)
            continue
        try:
            record = json_object(line)
            if not is_capture_record(record):
                kind = "a reading (`wattline analyze` reads those)" if is_reading_record(record) else "no topic"
                raise LineError(f"not a capture line (topic, payload, received_at): {kind}")
            message = capture_message(record, now_ms=now_ms)
        except LineError as exc:
            result.invalid(f"{name}:{number}: {exc}")
            continue
        yield Message(message.topic, message.payload.encode("utf-8", "surrogatepass"), message.received_ms)


RawBlock = tuple[int, Sequence[bytes]]
"""(the number of the first line, the lines as bytes), as `LineReader.raw_blocks` gives them."""


def _capture_blocks(
    name: str, blocks: Iterable[RawBlock], result: ImportResult, *, now_ms: int, text: Callable[[bytes], str]
) -> Iterator[_Block]:
    """`capture_messages` of blocks of raw lines (`text` gives a line's text): a block whose lines are all messages
    by `typed_capture` is read as columns (`typed_capture_columns`), any other line by line by `capture_messages`,
    so the messages, their order and the invalid lines reported are the same."""
    for first, lines in blocks:
        columns = typed_capture_columns(lines, now_ms=now_ms)
        if not columns.refused:
            yield _Block(columns.topics, list(map(str.encode, columns.payloads)), columns.received_ms)
            continue
        numbered = zip(itertools.count(first), map(text, lines))
        messages = list(capture_messages(name, numbered, result, now_ms=now_ms))
        yield _Block([m.topic for m in messages], [m.payload for m in messages], [m.received_ms for m in messages])


def em_data_csv_messages(
    name: str, lines: Iterable[NumberedLine], *, device_id: str, channel: int, now_ms: int, result: ImportResult
) -> Iterator[Message]:
    """Gen1 em_data.csv rows → the emeter topics the device publishes, received at the end of each minute."""
    prefix = f"shellies/{device_id}/emeter/{channel}"
    total = returned = 0.0
    started = False
    first_row = True
    position = [0]  # the line number of the row csv.reader is at

    def texts() -> Iterator[str]:
        for number, line in lines:
            position[0] = number
            yield line

    for row in csv.reader(texts()):
        if not row or not "".join(row).strip():
            continue
        if first_row:
            first_row = False
            if not row[0].strip()[:4].isdigit():
                continue  # the header: the first row, when it is not a minute
        try:
            start_ms, active, ret, voltage = _csv_row(row, now_ms)
        except LineError as exc:
            result.invalid(f"{name}:{position[0]}: {exc}")
            continue
        if not started:
            yield Message(f"{prefix}/total", b"0.0", start_ms)
            yield Message(f"{prefix}/total_returned", b"0.0", start_ms)
            started = True
        total += active
        returned += ret
        end_ms = start_ms + 60_000
        for quantity, value in (
            ("power", f"{(active - ret) * 60:.2f}"),
            ("voltage", f"{voltage:.2f}"),
            ("total", f"{total:.4f}"),
            ("total_returned", f"{returned:.4f}"),
        ):
            yield Message(f"{prefix}/{quantity}", value.encode(), end_ms)


def _csv_row(row: Sequence[str], now_ms: int) -> tuple[int, float, float, float]:
    """(minute start ms, active Wh, returned Wh, mean voltage) of one em_data.csv row, or LineError."""
    if len(row) < 5:
        raise LineError(f"{len(row)} columns, expected 5 (time, active Wh, returned Wh, min V, max V)")
    try:
        minute = datetime.fromisoformat(row[0].strip()).replace(tzinfo=UTC)
    except ValueError:
        raise LineError(f"time {row[0].strip()[:40]!r} is not a date and time (YYYY-MM-DD HH:MM, UTC)") from None
    start_ms = int(minute.timestamp() * 1000)
    check_window(start_ms / 1000, now_ms, "time")
    check_window(start_ms / 1000 + 60, now_ms, "time")
    active = _csv_number(row[1], "active energy", 0.0, MAX_MINUTE_WH)
    ret = _csv_number(row[2], "returned energy", 0.0, MAX_MINUTE_WH)
    low = _csv_number(row[3], "min voltage", limits.MIN_VOLTAGE_V, limits.MAX_VOLTAGE_V)
    high = _csv_number(row[4], "max voltage", limits.MIN_VOLTAGE_V, limits.MAX_VOLTAGE_V)
    return start_ms, active, ret, (low + high) / 2


def _csv_number(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LineError(f"{what} {text.strip()[:40]!r} is not a number") from None
    return _bounded(value, what, low, high)


def _bounded(value: float, what: str, low: float, high: float) -> float:
    if not math.isfinite(value):
        raise LineError(f"{what} {value} is not a finite number")
    if not low <= value <= high:
        raise LineError(f"{what} {value:.15g} outside [{low:g}, {high:g}]")
    return value


def _json_number(value: Any, what: str) -> float:
    if value.__class__ not in (int, float):
        raise LineError(f"{what} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise LineError(f"{what} {str(value)[:40]} is not a finite number")
    return number


def em1data_messages(
    name: str, document: Any, *, device_id: str, channel: int, now_ms: int, result: ImportResult
) -> Iterator[Message]:
    """EM1Data.GetData records → NotifyStatus frames with cumulative em1data counters and the period's mean power."""
    body = document.get("result", document) if isinstance(document, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ImportError_("EM1Data.GetData JSON must have a `data` list (or `result.data`)")
    names: Sequence[Any] = body.get("keys") or EM1_DATA_KEYS
    if not isinstance(names, list | tuple) or not all(isinstance(key, str) for key in names):
        raise ImportError_("EM1Data.GetData JSON: `keys` must be a list of field names")
    total = returned = 0.0
    started = False
    topic = f"{device_id}/events/rpc"
    for block_number, block in enumerate(body["data"]):
        where = f"{name}:data[{block_number}]"
        try:
            if not isinstance(block, dict):
                raise LineError("not an object")
            ts = _json_number(block.get("ts"), "ts")
            period = _json_number(block.get("period", 60), "period")
            if period <= 0:
                raise LineError(f"period {period:g} is not a positive number of seconds")
            rows = block.get("values")
            if not isinstance(rows, list):
                raise LineError("values must be a list of records")
        except LineError as exc:
            result.invalid(f"{where}: {exc}")
            continue
        for row_number, values in enumerate(rows):
            start = ts + row_number * period
            try:
                active, ret, voltage = _em1data_record(values, names, start, period, now_ms)
            except LineError as exc:
                result.invalid(f"{where}.values[{row_number}]: {exc}")
                continue
            if not started:
                yield _notify(topic, device_id, channel, start, total, returned, None, None)
                started = True
            total += active
            returned += ret
            mean_w = (active - ret) * 3600 / period
            yield _notify(topic, device_id, channel, start + period, total, returned, mean_w, voltage)


def _em1data_record(
    values: Any, names: Sequence[str], start: float, period: float, now_ms: int
) -> tuple[float, float, float | None]:
    """(active Wh, returned Wh, mean voltage or None) of one EM1Data record, or LineError."""
    if not isinstance(values, list):
        raise LineError("a record must be a list of values")
    check_window(start, now_ms, "time")
    check_window(start + period, now_ms, "time")
    record = dict(zip(names, values, strict=False))
    if "total_act_energy" not in record:
        raise LineError("no total_act_energy")
    most = limits.MAX_ABS_POWER_W * period / 3600
    active = _bounded(_json_number(record["total_act_energy"], "total_act_energy"), "total_act_energy", 0.0, most)
    ret = _json_number(record.get("total_act_ret_energy", 0.0), "total_act_ret_energy")
    ret = _bounded(ret, "total_act_ret_energy", 0.0, most)
    voltage = record.get("avg_voltage")
    if voltage is None:
        return active, ret, None
    volts = _bounded(_json_number(voltage, "avg_voltage"), "avg_voltage", limits.MIN_VOLTAGE_V, limits.MAX_VOLTAGE_V)
    return active, ret, volts


def _notify(
    topic: str,
    device_id: str,
    channel: int,
    ts: float,
    total: float,
    returned: float,
    power: float | None,
    voltage: float | None,
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
        if voltage is not None:
            em1["voltage"] = round(voltage, 1)
        params[f"em1:{channel}"] = em1
    payload = {"src": device_id, "dst": f"{device_id}/events", "method": "NotifyStatus", "params": params}
    return Message(topic, json.dumps(payload, separators=(",", ":")).encode(), round(ts * 1000))


def messages_from_lines(
    name: str,
    lines: Iterable[NumberedLine],
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    now_ms: int | None = None,
    result: ImportResult,
) -> Iterator[Message]:
    """The MQTT messages one file's numbered lines hold (or stand for), in any supported format. Raises
    ImportError_ when the file as a whole cannot be read as asked."""
    blocks = _message_blocks(name, lines, fmt=fmt, device_id=device_id, channel=channel, now_ms=now_ms, result=result)
    for block in blocks:
        yield from map(Message, block.topics, block.payloads, block.received_ms)


def _message_blocks(
    name: str,
    lines: Iterable[NumberedLine],
    *,
    fmt: ImportFormat,
    device_id: str | None,
    channel: int,
    now_ms: int | None,
    result: ImportResult,
) -> Iterator[_Block]:
    """`messages_from_lines`, block by block. A `LineReader`'s lines are read as bytes a block at a time
    (`raw_blocks`); other lines are encoded (surrogatepass: the text of a line read one by one is exactly its own)."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    blocks: Iterator[RawBlock]
    if isinstance(lines, LineReader):
        blocks, text = lines.raw_blocks(), text_of
    else:
        blocks, text = _encoded_blocks(lines), _exact_text
    seen: list[RawBlock] = []  # the blocks format detection read, to be read again
    if fmt is ImportFormat.AUTO:

        def texts() -> Iterator[NumberedLine]:
            for first, block in blocks:
                seen.append((first, block))
                yield from zip(itertools.count(first), map(text, block))

        _head, fmt = _detect(texts())
    stream = itertools.chain(seen, blocks)
    if fmt is ImportFormat.CAPTURE:
        yield from _capture_blocks(name, stream, result, now_ms=now, text=text)
        return
    numbered = (line for first, block in stream for line in zip(itertools.count(first), map(text, block)))
    messages = _device_messages(name, numbered, fmt, device_id=device_id, channel=channel, now_ms=now, result=result)
    yield from _blocks_of(messages)


def _encoded_blocks(lines: Iterable[NumberedLine]) -> Iterator[RawBlock]:
    """Numbered text lines as raw blocks of consecutive line numbers, at most `BLOCK_LINES` lines each."""
    first, block = 0, list[bytes]()
    for number, line in lines:
        if block and (number != first + len(block) or len(block) >= BLOCK_LINES):
            yield first, block
            block = []
        if not block:
            first = number
        block.append(line.encode("utf-8", "surrogatepass"))
    if block:
        yield first, block


def _exact_text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _device_messages(
    name: str,
    stream: Iterator[NumberedLine],
    fmt: ImportFormat,
    *,
    device_id: str | None,
    channel: int,
    now_ms: int,
    result: ImportResult,
) -> Iterator[Message]:
    """The messages of a device-history file (em_data.csv or EM1Data.GetData JSON)."""
    now = now_ms
    if not device_id or not keys.is_device_id(device_id):
        raise ImportError_(
            f"{fmt.value} files do not name their device: pass --device ID (e.g. shellyem-A4CF12F454A3), "
            "letters, digits, '-', '_' and '.' only (not 'shellies' or '_invalid')"
        )
    if fmt is ImportFormat.EM_DATA_CSV:
        yield from em_data_csv_messages(name, stream, device_id=device_id, channel=channel, now_ms=now, result=result)
        return
    text = "\n".join(line for _number, line in stream)
    try:
        document = from_json(text)
    except ValueError as exc:
        raise ImportError_(f"neither capture lines nor EM1Data.GetData JSON (not valid JSON: {exc})") from exc
    yield from em1data_messages(name, document, device_id=device_id, channel=channel, now_ms=now, result=result)


def import_lines(
    name: str,
    lines: Iterable[NumberedLine],
    store: ObjectStore,
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    now_ms: int | None = None,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
) -> ImportResult:
    """Import one file's numbered lines into `store` (the raw bucket). Every message is read before anything is
    written, so a file refused as a whole (ImportError_, InputTooLarge from the reader) writes nothing.
    Idempotent: the same file gives the same keys."""
    result = result or ImportResult()
    blocks = _message_blocks(name, lines, fmt=fmt, device_id=device_id, channel=channel, now_ms=now_ms, result=result)
    for key, data in _batch_blocks(blocks, batch_lines=batch_lines, result=result):
        store.put(key, data, content_type="application/x-ndjson")
        result.objects += 1
        result.keys.append(key)
    return result


def import_file(
    path: Path,
    store: ObjectStore,
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    max_bytes: int | None = None,
    now_ms: int | None = None,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
) -> ImportResult:
    """Import one file, plain or gzip, streamed (`import_lines`). A truncated gzip imports the lines before the
    break and is listed in `result.file_errors`; a file larger than `max_bytes` once decompressed raises
    `wattline.inputs.InputTooLarge` and writes nothing."""
    result = result or ImportResult()
    reader = LineReader(path, max_bytes=max_bytes)
    try:
        return import_lines(
            path.name,
            reader,
            store,
            fmt=fmt,
            device_id=device_id,
            channel=channel,
            now_ms=now_ms,
            batch_lines=batch_lines,
            result=result,
        )
    finally:
        if reader.truncated is not None:
            result.file_errors.append(reader.truncated)


def import_text(
    text: str,
    store: ObjectStore,
    *,
    fmt: ImportFormat = ImportFormat.AUTO,
    device_id: str | None = None,
    channel: int = 0,
    now_ms: int | None = None,
    batch_lines: int = BATCH_LINES,
    result: ImportResult | None = None,
    name: str = "<text>",
) -> ImportResult:
    """Import one file's text into `store` (the raw bucket). Idempotent: the same file gives the same keys."""
    return import_lines(
        name,
        text_lines(text),
        store,
        fmt=fmt,
        device_id=device_id,
        channel=channel,
        now_ms=now_ms,
        batch_lines=batch_lines,
        result=result,
    )
