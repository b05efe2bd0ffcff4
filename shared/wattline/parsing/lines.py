"""The lines the command-line readers accept, in one place: `wattline analyze` and `wattline import` both call this.

A capture line is one MQTT message, as `wattline demo` saves it:

    {"topic": "<topic>", "payload": "<the payload text exactly as published>", "received_at": <Unix seconds>}

It is a message when it is a JSON object whose
- `topic` is a non-empty string;
- `payload` is a string (the published text; a JSON number, object or null is not the text that was published);
- `received_at` is a number (not a boolean or a string) from 2015-01-01 (`limits.MIN_TIMESTAMP_MS`) to one day
  after now (`limits.MAX_FUTURE_MS`): the parsers' own window for receive times, so every accepted message can be
  stored under its UTC day in raw/ and judged by the parsers.
Extra keys are ignored. A message then goes to the parsers, which quarantine what they cannot read with a reason
(`analyze` counts those reasons; `import` stores every message in raw/ for validate and the aggregator to do so).

A reading line (only `analyze` reads them) is one canonical reading as the daily files hold it: a `Reading` whose
`ts` is in the same window and whose values are within the parsers' limits (what the parsers could have produced).

Anything else is an invalid line: `LineError` says which field and why; the readers report it with the file name
and line number and go on.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, cast

import numpy as np
from pydantic import ValidationError
from pydantic_core import from_json

from wattline.formats.blocks import decode_capture_lines
from wattline.formats.frames import Capture, decode_captures
from wattline.inputs import BlockLines
from wattline.models import READING_QUANTITIES, Reading
from wattline.parsing import limits
from wattline.parsing._common import Reject, Unavailable, check_value


class LineError(ValueError):
    """A line that is neither a capture message nor a reading; the text says why."""


EXAMPLES = 10
"""How many invalid lines a reader keeps as examples (with file name and line number) for its report."""


@dataclass
class LineProblems:
    """What a reader of files reports besides what it read: invalid lines (counted, the first few as examples) and
    the files it could not read to their end."""

    invalid_lines: int = 0
    invalid_examples: list[str] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    def invalid(self, where: str) -> None:
        self.invalid_lines += 1
        if len(self.invalid_examples) < EXAMPLES:
            self.invalid_examples.append(where)


class CaptureMessage(NamedTuple):
    topic: str
    payload: str
    received_ms: int


def json_object(line: str | bytes) -> dict[str, Any]:
    """One JSON line as an object, or LineError. Nesting deeper than the JSON parser's limit (200 levels) is refused
    without recursion, whatever the stack depth."""
    try:
        value = from_json(line)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if message.startswith("recursion limit exceeded"):
            raise LineError("not valid JSON: nested deeper than 200 levels") from None
        raise LineError(f"not valid JSON ({message[:80]})") from None
    if not isinstance(value, dict):
        raise LineError(f"not a JSON object but {_json_type(value)}")
    return value


def load_object(line: str | bytes) -> dict[str, Any] | None:
    """`json_object`, or None where it raises."""
    try:
        return json_object(line)
    except LineError:
        return None


def is_capture_record(record: Mapping[str, Any]) -> bool:
    """A JSON object that means to be a capture line (it has a topic), valid or not."""
    return "topic" in record


def is_reading_record(record: Mapping[str, Any]) -> bool:
    """A JSON object that means to be a reading line (a device id and no topic), valid or not."""
    return "device_id" in record and "topic" not in record


def typed_capture(line: bytes | str, *, now_ms: int) -> CaptureMessage | None:
    """The message of a capture line that decodes with the expected types (`wattline.formats.frames`) and meets
    the rule (`typed_capture_columns` of one line); None otherwise, and then `json_object` + `capture_message` read
    it and say why not."""
    columns = typed_capture_columns([line], now_ms=now_ms)
    if columns.refused:
        return None
    return CaptureMessage(columns.topics[0], columns.payloads[0], columns.received_ms[0])


_TOPIC: Final = operator.attrgetter("topic")
_PAYLOAD: Final = operator.attrgetter("payload")
_RECEIVED_AT: Final = operator.attrgetter("received_at")


class CaptureColumns(NamedTuple):
    """The capture lines of a block that decode with the expected types and meet the rule, as columns; `refused`
    are the positions (in the block) of the others, for `json_object` + `capture_message` to read."""

    topics: list[str]
    received_ms: list[int]
    payloads: list[str]
    refused: list[int]


def typed_capture_columns(lines: Sequence[bytes | str], *, now_ms: int) -> CaptureColumns:
    """The capture lines that decode with the expected types (one decoder call each) and meet the rule (see the
    module docstring; the receive time rounded half to even, as `round`), as columns; the rule over all of them
    as arrays."""
    block = lines.decoded(decode_capture_lines) if isinstance(lines, BlockLines) else None
    captures = decode_captures(lines) if block is None else cast(list[Capture | None], block)
    if captures.count(None):
        seconds = [math.nan if capture is None else capture.received_at for capture in captures]
        topics = ["" if capture is None else capture.topic for capture in captures]
    else:  # (the common block: attribute reads mapped in C)
        seconds = list(map(_RECEIVED_AT, captures))
        topics = list(map(_TOPIC, captures))
    with np.errstate(over="ignore"):  # 1e308 s: infinite ms, out of the window
        received_ms = np.array(seconds, np.float64) * 1000
    accepted = (received_ms >= limits.MIN_TIMESTAMP_MS) & (received_ms <= now_ms + limits.MAX_FUTURE_MS)  # NaN: no
    if topics.count(""):
        accepted &= np.array([bool(topic) for topic in topics], np.bool_)
    if accepted.all():  # `round` (half to even) as `typed_capture` rounds
        payloads = list(map(_PAYLOAD, captures))
        return CaptureColumns(topics, np.rint(received_ms).astype(np.int64).tolist(), payloads, [])
    kept = np.flatnonzero(accepted)
    return CaptureColumns(
        [topics[position] for position in kept.tolist()],
        np.rint(received_ms[kept]).astype(np.int64).tolist(),
        [captures[position].payload for position in kept.tolist()],  # type: ignore[union-attr]
        np.flatnonzero(~accepted).tolist(),
    )


def capture_message(record: Mapping[str, Any], *, now_ms: int) -> CaptureMessage:
    """The message of one capture line, or LineError (see the module docstring for the rule)."""
    topic, payload, received_at = record.get("topic"), record.get("payload"), record.get("received_at")
    if not isinstance(topic, str) or not topic:
        raise LineError(f"topic must be a non-empty string, not {_json_type(topic)}")
    if not isinstance(payload, str):
        raise LineError(f"payload must be the published text (a JSON string), not {_json_type(payload)}")
    if received_at.__class__ not in (int, float):
        raise LineError(f"received_at must be Unix seconds (a number), not {_json_type(received_at)}")
    seconds = _seconds(received_at)
    check_window(seconds, now_ms, "received_at")
    return CaptureMessage(topic, payload, round(seconds * 1000))


def reading_from_record(record: Mapping[str, Any], *, now_ms: int) -> Reading:
    """The reading of one reading line, or LineError (see the module docstring for the rule)."""
    try:
        reading = Reading.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "line"
        raise LineError(f"not a valid reading ({exc.error_count()} errors; {where}: {first['msg']})") from None
    check_window(reading.ts.timestamp(), now_ms, "ts")
    for name in READING_QUANTITIES:
        value = getattr(reading, name)
        if value is None:
            continue
        try:
            checked = check_value(name, value, name)
        except Reject as exc:
            raise LineError(exc.detail) from None
        if isinstance(checked, Unavailable):
            raise LineError(f"{name}: -1 (a counter that was not available) is never a reading")
    return reading


def check_window(seconds: float, now_ms: int, what: str) -> None:
    """A time (Unix seconds) within the parsers' window (2015-01-01 … now + 1 day), or LineError."""
    if seconds * 1000 < limits.MIN_TIMESTAMP_MS:
        raise LineError(f"{what} {seconds:.15g} is before 2015-01-01")
    if seconds * 1000 > now_ms + limits.MAX_FUTURE_MS:
        raise LineError(f"{what} {seconds:.15g} is more than one day after now")


def _seconds(value: int | float) -> float:
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        shown = f"(a {len(str(value))}-digit integer)" if isinstance(value, int) else str(value)
        raise LineError(f"received_at {shown} is not a finite number")
    return seconds


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
