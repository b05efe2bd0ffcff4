"""Entry points: an envelope (or its JSON line, or a whole raw object) in, one ParseOutcome per envelope out."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Any, Final

from wattline.formats.frames import NotAnEnvelope, envelope_parts
from wattline.keys import is_device_id
from wattline.models import Envelope, Generation, ParseOutcome, QuarantineReason, QuarantineRecord, fast_constructor
from wattline.parsing import gen1, gen2, limits
from wattline.parsing._common import (
    Reject,
    Row,
    check_device_id,
    check_time_ms,
    load_json_payload,
    load_json_text,
    reading_from_row,
)
from wattline.parsing.state import Gen2State

GEN1_ROOT: Final = "shellies"
_GEN1_PREFIX: Final = GEN1_ROOT + "/"
_EVENTS_RPC: Final = "/events/rpc"
_ONLINE: Final = "/online"
_RPC: Final = "/rpc"
_STATUS: Final = "status"
_new_outcome: Final = fast_constructor(ParseOutcome)


def parse_envelope(
    envelope: Envelope,
    *,
    now_ms: int | None = None,
    state: Gen2State | None = None,
    device_id: str | None = None,
) -> ParseOutcome:
    """One envelope → readings, or exactly one quarantine record (original_b64 = the payload bytes).

    `device_id`, when given, is the device the message was stored under (its raw partition, the rules' `topic(N)`):
    a message whose readings name another device is quarantined as device_mismatch.
    """
    return _outcome(
        _parse(
            envelope.topic,
            envelope.received_ms,
            envelope.payload,
            envelope.payload_b64,
            _now(now_ms),
            state,
            None,
            None,
            device_id,
        )
    )


def parse_message(
    topic: str,
    received_ms: int,
    payload: Any,
    payload_b64: str | None,
    *,
    now_ms: int,
    state: Gen2State | None = None,
    device_id: str | None = None,
    source_key: str | None = None,
) -> list[Row] | QuarantineRecord:
    """`parse_envelope` for batch consumers: the envelope's fields in, its rows (no Reading objects) or its one
    quarantine record out. The same rules and the same `state` updates: `parse_envelope` is this plus
    `reading_from_row`."""
    return _parse(topic, received_ms, payload, payload_b64, now_ms, state, source_key, None, device_id)


def parse_line(
    line: bytes | str,
    *,
    source_key: str | None = None,
    now_ms: int | None = None,
    state: Gen2State | None = None,
    device_id: str | None = None,
) -> ParseOutcome:
    """One JSON envelope line → ParseOutcome. A line that is not a valid envelope is quarantined as
    malformed_envelope; any quarantine record carries the whole line as original_b64. `device_id`: as in
    `parse_envelope`."""
    return _outcome(_parse_line(line, source_key, _now(now_ms), state, device_id))


def parse_line_rows(
    line: bytes | str,
    *,
    now_ms: int,
    source_key: str | None = None,
    state: Gen2State | None = None,
    device_id: str | None = None,
) -> list[Row] | QuarantineRecord:
    """`parse_line` for batch consumers (see `parse_message`)."""
    return _parse_line(line, source_key, now_ms, state, device_id)


def parse_object(
    data: bytes | str,
    *,
    source_key: str | None = None,
    now_ms: int | None = None,
    state: Gen2State | None = None,
    device_id: str | None = None,
) -> list[ParseOutcome]:
    """One stored raw object: a single envelope, or newline-delimited envelopes (a Firehose batch).

    Blank lines are skipped; an object with no envelope at all gives one malformed_envelope record.
    A single envelope pretty-printed over several lines is also accepted. `device_id`: as in `parse_envelope`.
    """
    return [
        _outcome(parsed)
        for parsed in parse_object_rows(
            data, now_ms=_now(now_ms), source_key=source_key, state=state, device_id=device_id
        )
    ]


def parse_object_rows(
    data: bytes | str,
    *,
    now_ms: int | None = None,
    source_key: str | None = None,
    state: Gen2State | None = None,
    device_id: str | None = None,
) -> list[list[Row] | QuarantineRecord]:
    """`parse_object` for batch consumers (see `parse_message`): one entry per envelope."""
    now_ms = _now(now_ms)
    raw = _as_bytes(data)
    lines, pretty = object_lines(raw)
    if not lines:
        return [_quarantine(Reject(QuarantineReason.MALFORMED_ENVELOPE, "empty object"), None, None, raw, source_key)]
    if pretty:
        whole = _parse_line(raw, source_key, now_ms, state, device_id)  # perhaps one pretty-printed envelope
        if not isinstance(whole, QuarantineRecord) or whole.reason != QuarantineReason.MALFORMED_ENVELOPE:
            return [whole]
    return [_parse_line(line, source_key, now_ms, state, device_id) for line in lines]


def object_lines(data: bytes) -> tuple[list[bytes], bool]:
    """How a raw object is framed: its non-blank lines, and whether they may be one envelope pretty-printed over
    several lines (more than one line, the first not closing an object, the whole no longer than a line may be)."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    return lines, len(lines) > 1 and not lines[0].rstrip().endswith(b"}") and len(data) <= limits.MAX_LINE_BYTES


def envelope_from_capture(topic: str, payload_text: str, received_at_s: float) -> Envelope:
    """An envelope from one `wattline analyze` capture line: topic, payload text, receive time (Unix seconds).

    Raises ValueError when the receive time is not a finite number (the capture reader reports the line).
    """
    if not math.isfinite(received_at_s):
        raise ValueError(f"receive time {received_at_s!r} is not a finite number")
    return Envelope(topic=topic, received_ms=round(received_at_s * 1000), payload=payload_text)


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    if isinstance(data, bytes):
        return data
    try:
        return bytes(data)  # bytearray, memoryview
    except TypeError:
        return repr(data).encode("utf-8", "replace")  # not bytes at all: quarantined as malformed_envelope


def _now(now_ms: int | None) -> int:
    return int(time.time() * 1000) if now_ms is None else now_ms


def _outcome(parsed: list[Row] | QuarantineRecord) -> ParseOutcome:
    if isinstance(parsed, QuarantineRecord):
        return _new_outcome({"readings": [], "quarantined": parsed})
    return _new_outcome({"readings": [reading_from_row(row) for row in parsed]})


def _parse_line(
    line: bytes | str, source_key: str | None, now_ms: int, state: Gen2State | None, device_id: str | None = None
) -> list[Row] | QuarantineRecord:
    original = _as_bytes(line)
    try:
        if len(original) > limits.MAX_LINE_BYTES:
            raise Reject(QuarantineReason.OVERSIZED_PAYLOAD, f"envelope line larger than {limits.MAX_LINE_BYTES} bytes")
        envelope = load_json_text(original, envelope=True)
        topic, received_ms, payload, payload_b64 = envelope_parts(envelope)
    except NotAnEnvelope as exc:
        return _quarantine(Reject(QuarantineReason.MALFORMED_ENVELOPE, str(exc)), None, None, original, source_key)
    except Reject as exc:
        return _quarantine(exc, None, None, original, source_key)
    except Exception as exc:  # total: a bug becomes a parser_error record
        return _quarantine(_internal(exc), None, None, original, source_key)
    return _parse(topic, received_ms, payload, payload_b64, now_ms, state, source_key, original, device_id)


def _parse(
    topic: str,
    received_ms: int,
    payload: Any,
    payload_b64: str | None,
    now_ms: int,
    state: Gen2State | None,
    source_key: str | None,
    original: bytes | None,
    expected_device: str | None = None,
) -> list[Row] | QuarantineRecord:
    try:
        check_time_ms(received_ms, now_ms, "received_ms")
        readings = _dispatch(topic, received_ms, payload, payload_b64, now_ms, state)
        if expected_device is not None and readings and readings[0][0] != expected_device:
            named = readings[0][0]
            raise Reject(
                QuarantineReason.DEVICE_MISMATCH,
                f"the message names device {named!r} but was stored as {expected_device!r}'s (its topic's device)",
                expected_device,
            )
    except Reject as exc:
        return _quarantine(exc, topic, received_ms, original, source_key, payload, payload_b64)
    except Exception as exc:  # total: a bug becomes a parser_error record
        return _quarantine(_internal(exc), topic, received_ms, original, source_key, payload, payload_b64)
    return readings


def _dispatch(
    topic: str, received_ms: int, payload: Any, payload_b64: str | None, now_ms: int, state: Gen2State | None
) -> list[Row]:
    parts = topic.split("/")
    if parts[0] == GEN1_ROOT and len(parts) >= 3:
        readings = _dispatch_gen1(parts, received_ms, payload, payload_b64)
        if readings is not None:
            return readings
    elif parts[0] == GEN1_ROOT and len(parts) == 2 and parts[1] in ("announce", "command"):
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"Gen1 broadcast topic {topic!r}")
    return _dispatch_gen2(topic, received_ms, payload, payload_b64, now_ms, state)


def _dispatch_gen1(parts: list[str], received_ms: int, payload: Any, payload_b64: str | None) -> list[Row] | None:
    """Gen1 `shellies/<id>/…` topics; None when the rest of the topic is not a Gen1 pattern."""
    raw_id, rest = parts[1], parts[2:]
    n = len(rest)
    if n == 3 and rest[0] == "emeter" and gen1.is_channel(rest[1]):
        quantity = rest[2]
        if quantity not in gen1.EMETER_TOPIC_FIELDS and quantity not in gen1.VOLATILE_COUNTER_TOPICS:
            raise Reject(QuarantineReason.UNKNOWN_TOPIC, f"unknown Gen1 emeter quantity {quantity[:40]!r}")
        device_id = check_device_id(raw_id, "topic")
        return gen1.parse_emeter_topic(device_id, rest[1], quantity, payload, payload_b64, received_ms)
    if n == 1 and rest[0] == "online":
        device_id = check_device_id(raw_id, "topic")
        return gen1.parse_online(device_id, payload, payload_b64, received_ms, Generation.GEN1)
    if n == 2 and rest == ["relay", "0"]:
        device_id = check_device_id(raw_id, "topic")
        return gen1.parse_relay(device_id, payload, payload_b64, received_ms)
    if n == 1 and rest[0] in ("status", "info", "announce"):  # announce: only when it carries emeters[]
        device_id = check_device_id(raw_id, "topic")
        return gen1.parse_status(device_id, payload, payload_b64, received_ms)
    if (n == 1 and rest[0] == "command") or (n == 3 and rest[:2] == ["relay", "0"]):
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, f"Gen1 topic {'/'.join(rest)!r} carries no measurement")
    return None


def _dispatch_gen2(
    topic: str, received_ms: int, payload: Any, payload_b64: str | None, now_ms: int, state: Gen2State | None
) -> list[Row]:
    if topic.endswith(_EVENTS_RPC):
        prefix = topic[: -len(_EVENTS_RPC)]
        body = gen2.decode_notification(payload, payload_b64, with_state=state is not None)
        return gen2.parse_events_rpc(prefix, body, received_ms, now_ms, state)
    if topic.endswith(_ONLINE):
        device_id = check_device_id(topic[: -len(_ONLINE)], "topic prefix")
        return gen1.parse_online(device_id, payload, payload_b64, received_ms, Generation.GEN2)
    pieces = topic.rsplit("/", 2)
    if len(pieces) == 3 and pieces[1] == _STATUS and pieces[2]:
        body = load_json_payload(payload, payload_b64)
        return gen2.parse_status_topic(pieces[0], pieces[2], body, received_ms, state)
    if topic.endswith(_RPC) and len(topic) > len(_RPC):
        body = load_json_payload(payload, payload_b64)
        return gen2.parse_rpc_frame(topic[: -len(_RPC)], body, received_ms, state)
    raise Reject(QuarantineReason.UNKNOWN_TOPIC, f"no parser for topic {topic[:120]!r}")


def _topic_device(topic: str | None) -> str | None:
    """The device a rejected message most likely came from (for the quarantine key), when the topic names one."""
    if not topic:
        return None
    parts = topic.split("/", 2)
    candidate = parts[1] if parts[0] == GEN1_ROOT and len(parts) > 1 else parts[0]
    return candidate if is_device_id(candidate) else None


def _internal(exc: BaseException) -> Reject:
    return Reject(QuarantineReason.PARSER_ERROR, f"parser error {type(exc).__name__}: {str(exc)[:200]}")


def _quarantine(
    exc: Reject,
    topic: str | None,
    received_ms: int | None,
    original: bytes | None,
    source_key: str | None,
    payload: Any = None,
    payload_b64: str | None = None,
) -> QuarantineRecord:
    if original is not None:
        original_b64 = base64.b64encode(original).decode("ascii")
    else:
        original_b64 = _payload_b64(payload, payload_b64)
    device_id = exc.device_id
    if device_id is None and exc.reason != QuarantineReason.BAD_DEVICE_ID:
        device_id = _topic_device(topic)
    return QuarantineRecord(
        reason=exc.reason,
        detail=exc.detail,
        topic=topic,
        received_ms=received_ms,
        device_id=device_id,
        original_b64=original_b64,
        source_key=source_key,
    )


def _payload_b64(payload: Any, payload_b64: str | None) -> str:
    """The original payload bytes, base64: payload_b64 as given, text as UTF-8, a JSON value re-serialised."""
    if payload_b64 is not None:
        try:
            base64.b64decode(payload_b64, validate=True)
        except ValueError:
            return base64.b64encode(payload_b64.encode("utf-8", "surrogatepass")).decode("ascii")
        return payload_b64
    if isinstance(payload, str):
        data = payload.encode("utf-8", "surrogatepass")
    else:
        try:
            data = json.dumps(payload, separators=(",", ":"), allow_nan=True).encode("utf-8", "surrogatepass")
        except (RecursionError, ValueError, TypeError):
            data = b""
    return base64.b64encode(data).decode("ascii")
