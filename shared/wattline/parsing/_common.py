"""Building blocks shared by the Gen1 and Gen2 parsers: rejection, value checks, JSON loading, readings."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import msgspec
from pydantic import BaseModel
from pydantic_core import from_json

from wattline.keys import RESERVED_DEVICE_IDS, is_safe_device_id
from wattline.models import VALUE_FIELDS, Generation, QuarantineReason, Reading
from wattline.parsing import limits

M = TypeVar("M", bound=BaseModel)


class Reject(Exception):  # a control-flow signal, never seen by callers
    """Raised inside the parsers; turned into exactly one QuarantineRecord at the top."""

    def __init__(self, reason: QuarantineReason, detail: str, device_id: str | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.device_id = device_id


# Kinds of measured value and the Reading field each source field feeds.
POWER: Final = "power"
APPARENT: Final = "apparent"
VOLTAGE: Final = "voltage"
CURRENT: Final = "current"
PF: Final = "pf"
FREQ: Final = "freq"
COUNTER: Final = "counter"

FIELD_KIND: Final[Mapping[str, str]] = {
    "power_w": POWER,
    "reactive_power_var": POWER,
    "apparent_power_va": APPARENT,
    "voltage_v": VOLTAGE,
    "current_a": CURRENT,
    "pf": PF,
    "freq_hz": FREQ,
    "energy_total_wh": COUNTER,
    "energy_returned_total_wh": COUNTER,
}

_BOUNDS: Final[Mapping[str, tuple[float, float]]] = {
    POWER: (-limits.MAX_ABS_POWER_W, limits.MAX_ABS_POWER_W),
    APPARENT: (0.0, limits.MAX_ABS_POWER_W),
    VOLTAGE: (limits.MIN_VOLTAGE_V, limits.MAX_VOLTAGE_V),
    CURRENT: (limits.MIN_CURRENT_A, limits.MAX_CURRENT_A),
    PF: (limits.MIN_PF, limits.MAX_PF),
    FREQ: (limits.MIN_FREQ_HZ, limits.MAX_FREQ_HZ),
    COUNTER: (0.0, limits.MAX_COUNTER_WH),
}

_NUMBER_RE: Final = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NON_FINITE_RE: Final = re.compile(r"[-+]?(?:nan|inf|infinity)", re.IGNORECASE)


class Unavailable:
    """Marker for a counter the device reported as -1 (not available)."""


UNAVAILABLE: Final = Unavailable()


def check_value(field: str, raw: object, where: str) -> float | Unavailable:
    """A JSON value for Reading field `field` → a checked float, UNAVAILABLE for a -1 counter, or Reject."""
    if raw.__class__ is float:
        value: float = raw
    elif raw.__class__ is int:
        try:
            value = float(raw)
        except OverflowError:
            raise Reject(QuarantineReason.IMPOSSIBLE_VALUE, f"{where}: integer too large") from None
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    else:
        raise Reject(QuarantineReason.WRONG_TYPE, f"{where}: expected a number, got {type(raw).__name__}")
    return _check_float(field, value, where)


def check_text_value(field: str, text: str, where: str) -> float | Unavailable:
    """A Gen1 scalar text such as `123.45` → a checked float, UNAVAILABLE for a -1 counter, or Reject."""
    text = text.strip()
    if not _NUMBER_RE.fullmatch(text):
        if _NON_FINITE_RE.fullmatch(text):
            raise Reject(QuarantineReason.NON_FINITE_VALUE, f"{where}: {text!r} is not a finite number")
        raise Reject(QuarantineReason.NON_NUMERIC_VALUE, f"{where}: {_clip(text)!r} is not a number")
    return _check_float(field, float(text), where)


def _check_float(field: str, value: float, where: str) -> float | Unavailable:
    if not math.isfinite(value):
        raise Reject(QuarantineReason.NON_FINITE_VALUE, f"{where}: {value} is not a finite number")
    kind = FIELD_KIND[field]
    if kind == COUNTER and value == limits.COUNTER_UNAVAILABLE:
        return UNAVAILABLE
    low, high = _BOUNDS[kind]
    if not low <= value <= high:
        raise Reject(QuarantineReason.IMPOSSIBLE_VALUE, f"{where}: {value} outside [{low:g}, {high:g}]")
    return value


FieldSpec = tuple[int, str, float, float]
"""How one source field is read: (channel offset, Reading field, lowest accepted, highest accepted)."""


def field_specs(mapping: Mapping[str, tuple[int, str]]) -> dict[str, FieldSpec]:
    """Source field → (channel offset, Reading field) becomes source field → FieldSpec with the field's bounds."""
    return {src: (offset, dst, *_BOUNDS[FIELD_KIND[dst]]) for src, (offset, dst) in mapping.items()}


def read_component(
    body: Mapping[str, Any],
    specs: Mapping[str, FieldSpec],
    channel: int,
    where: str,
    channels: dict[int, dict[str, float]],
    unavailable: list[str],
) -> list[str]:
    """Check every measured field of one component into `channels` (channel + the spec's offset).

    Returns the source fields that were -1 counters (also listed in `unavailable`); raises Reject on any bad value.
    The common case (a float or int within bounds) costs one dict lookup, one class test and one comparison.
    """
    skipped: list[str] = []
    for source, raw in body.items():
        spec = specs.get(source)
        if spec is None or raw is None:
            continue
        offset, field, low, high = spec
        cls = raw.__class__
        if cls is float:
            value = raw
        elif cls is int:
            try:
                value = float(raw)
            except OverflowError:
                raise Reject(QuarantineReason.IMPOSSIBLE_VALUE, f"{where}.{source}: integer too large") from None
        else:
            checked = check_value(field, raw, f"{where}.{source}")
            if isinstance(checked, Unavailable):
                unavailable.append(f"{where}.{source}")
                skipped.append(source)
                continue
            value = checked
        if not low <= value <= high:  # also NaN
            checked = _check_float(field, value, f"{where}.{source}")
            if isinstance(checked, Unavailable):
                unavailable.append(f"{where}.{source}")
                skipped.append(source)
                continue
        target = channels.get(channel + offset)
        if target is None:
            channels[channel + offset] = {field: value}
        else:
            target[field] = value
    return skipped


_SAFE_IDS: dict[str, None] = {}  # device ids already checked: a deployment has few, and they repeat every message
_SAFE_IDS_MAX: Final = 4096


def check_device_id(device_id: object, where: str) -> str:
    if device_id.__class__ is str and device_id in _SAFE_IDS:
        return device_id
    if not isinstance(device_id, str) or not is_safe_device_id(device_id):
        shown = _clip(device_id) if isinstance(device_id, str) else type(device_id).__name__
        raise Reject(QuarantineReason.BAD_DEVICE_ID, f"{where}: unsafe device id {shown!r}")
    if device_id in RESERVED_DEVICE_IDS:
        raise Reject(QuarantineReason.BAD_DEVICE_ID, f"{where}: {device_id!r} is reserved, never a device id")
    if len(_SAFE_IDS) >= _SAFE_IDS_MAX:
        _SAFE_IDS.clear()
    _SAFE_IDS[device_id] = None
    return device_id


def check_time_ms(ts_ms: float, now_ms: int, where: str) -> None:
    if ts_ms < limits.MIN_TIMESTAMP_MS:
        raise Reject(QuarantineReason.TIMESTAMP_TOO_OLD, f"{where} {_ms_text(ts_ms)} ms is before 2015-01-01")
    if ts_ms > now_ms + limits.MAX_FUTURE_MS:
        raise Reject(QuarantineReason.TIMESTAMP_IN_FUTURE, f"{where} {_ms_text(ts_ms)} ms is more than a day after now")


def _ms_text(ms: float) -> str:
    """A time in ms as text; an integer too large for a float (a JSON `received_ms` of 400 digits) is not printed."""
    return f"{ms:.0f}" if -1e300 < ms < 1e300 else "an out-of-range number of"


def ts_from_seconds(raw: object, now_ms: int) -> tuple[int, float]:
    """A Gen2 `params.ts` (Unix seconds, float) → (microseconds as `datetime.fromtimestamp` rounds them,
    milliseconds), checked."""
    if raw.__class__ not in (int, float):
        raise Reject(QuarantineReason.WRONG_TYPE, f"params.ts: expected a number, got {type(raw).__name__}")
    try:
        seconds = float(raw)
    except OverflowError:
        if raw < 0:
            raise Reject(QuarantineReason.TIMESTAMP_TOO_OLD, "params.ts: integer too large (negative)") from None
        raise Reject(QuarantineReason.TIMESTAMP_IN_FUTURE, "params.ts: integer too large") from None
    if not math.isfinite(seconds):
        raise Reject(QuarantineReason.NON_FINITE_VALUE, f"params.ts: {seconds} is not a finite number")
    ts_ms = seconds * 1000.0
    check_time_ms(ts_ms, now_ms, "params.ts")
    whole = math.floor(seconds)
    return int(whole) * 1_000_000 + round((seconds - whole) * 1e6), ts_ms  # round half even, as datetime does


def ts_from_us(us: int) -> datetime:
    """The UTC datetime of a time in microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=us)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def payload_bytes(payload: object, payload_b64: str | None) -> bytes:
    """The payload bytes (for size checks and scalar text), or Reject."""
    if payload_b64 is not None:
        if len(payload_b64) > (limits.MAX_PAYLOAD_BYTES * 4) // 3 + 4:
            raise Reject(QuarantineReason.OVERSIZED_PAYLOAD, f"payload larger than {limits.MAX_PAYLOAD_BYTES} bytes")
        try:
            data = base64.b64decode(payload_b64, validate=True)
        except (binascii.Error, ValueError):
            raise Reject(QuarantineReason.MALFORMED_ENVELOPE, "payload_b64 is not valid base64") from None
        if len(data) > limits.MAX_PAYLOAD_BYTES:
            raise Reject(
                QuarantineReason.OVERSIZED_PAYLOAD, f"payload of {len(data)} bytes > {limits.MAX_PAYLOAD_BYTES}"
            )
        return data
    if isinstance(payload, str):
        check_text_size(payload)
        return payload.encode("utf-8", "surrogatepass")
    raise Reject(QuarantineReason.WRONG_TYPE, f"expected a text payload, got JSON {type(payload).__name__}")


def check_text_size(text: str) -> None:
    size = len(text)
    if size * 4 > limits.MAX_PAYLOAD_BYTES:  # only then can the UTF-8 form exceed the limit
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.MAX_PAYLOAD_BYTES:
        raise Reject(QuarantineReason.OVERSIZED_PAYLOAD, f"payload of {size} bytes > {limits.MAX_PAYLOAD_BYTES}")


def load_json_text(text: str | bytes, *, envelope: bool = False) -> Any:
    """Parse JSON text (pydantic-core's parser: several times faster than `json.loads`, same values, NaN and
    Infinity accepted and checked later per field) with each failure mapped to a reason code."""
    reason = QuarantineReason.MALFORMED_ENVELOPE if envelope else QuarantineReason.MALFORMED_JSON
    what = "envelope line" if envelope else "payload"
    try:
        value = from_json(text)
    except ValueError as exc:  # invalid JSON or UTF-8, numbers out of range, nesting over the parser's limit (200)
        message = str(exc)
        if message.startswith("recursion limit exceeded"):
            raise Reject(QuarantineReason.TOO_DEEP, f"{what} nests deeper than {limits.MAX_JSON_DEPTH}") from None
        raise Reject(reason, f"{what} is not valid JSON: {_clip(message)}") from None
    except (TypeError, RecursionError):  # text with lone surrogates (not encodable)
        raise Reject(reason, f"{what} is not valid UTF-8 JSON") from None
    brackets = text.count("{") + text.count("[") if isinstance(text, str) else text.count(b"{") + text.count(b"[")
    if brackets > limits.MAX_JSON_DEPTH:
        check_depth(value, limits.MAX_JSON_DEPTH + (1 if envelope else 0))
    return value


def check_depth(value: object, limit: int = limits.MAX_JSON_DEPTH) -> None:
    """Reject JSON nesting deeper than `limit` containers; iterative, so any depth is safe."""
    if not isinstance(value, (dict, list)):
        return
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise Reject(QuarantineReason.TOO_DEEP, f"payload nests deeper than {limits.MAX_JSON_DEPTH}")
        children = node.values() if isinstance(node, dict) else node
        for child in children:  # type: ignore[attr-defined]
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def load_json_payload(payload: object, payload_b64: str | None) -> dict[str, Any]:
    """The payload of a JSON topic as an object: parsed once from text or bytes, or taken as already parsed."""
    if payload_b64 is not None:
        value = load_json_text(payload_bytes(None, payload_b64))
    elif isinstance(payload, str):
        check_text_size(payload)
        value = load_json_text(payload)
    else:
        check_depth(payload)
        size = _json_size(payload) if isinstance(payload, (dict, list)) else 0
        if size > limits.MAX_PAYLOAD_BYTES:  # a JSON value the rule embedded: its size as compact JSON
            raise Reject(QuarantineReason.OVERSIZED_PAYLOAD, f"payload of {size} bytes > {limits.MAX_PAYLOAD_BYTES}")
        value = payload
    if not isinstance(value, dict):
        raise Reject(QuarantineReason.NOT_AN_OBJECT, f"expected a JSON object, got {_json_type(value)}")
    if "G" in value or "cit_s" in value:
        raise Reject(QuarantineReason.UNSUPPORTED_MESSAGE, "a CoIoT (CoAP) status frame: CoAP is not collected")
    return value


def _json_size(value: object) -> int:
    """The size of a JSON value as compact UTF-8 JSON (lone surrogates counted as the bytes they were read from)."""
    try:
        return len(msgspec.json.encode(value))
    except (UnicodeEncodeError, TypeError, ValueError, RecursionError):
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=repr)
        return len(text.encode("utf-8", "surrogatepass"))


def fast_constructor(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """A constructor for `model` from already-checked values, several times cheaper than `model_construct`.

    It does what `model_construct` does (fill in defaults, set pydantic's instance slots) with the defaults
    looked up once instead of on every call.
    """
    fields = model.model_fields
    # Every field in declared order (required ones as placeholders, always overwritten by `data`).
    template = {n: (None if f.is_required() or f.default_factory is not None else f.default) for n, f in fields.items()}
    factories = [(n, f.default_factory) for n, f in fields.items() if f.default_factory is not None]
    new = object.__new__
    set_attr = object.__setattr__

    def construct(data: dict[str, Any]) -> M:
        instance = new(model)
        full = template.copy()
        full.update(data)
        for name, factory in factories:
            if name not in data:
                full[name] = factory()  # type: ignore[call-arg]
        set_attr(instance, "__dict__", full)
        set_attr(instance, "__pydantic_fields_set__", set(data))
        set_attr(instance, "__pydantic_extra__", None)
        set_attr(instance, "__pydantic_private__", None)
        return instance

    return construct


Row = tuple[str, "int | None", int, int, Generation, dict[str, Any]]
"""One reading as the parsers produce it: (device_id, channel, ts in µs since the epoch, received_ms, generation,
{Reading field: checked value}). `ts` is what `datetime.fromtimestamp` makes of the message time (Gen2 `params.ts`,
else the receive time), so `reading_from_row` gives exactly the Reading the parsers always gave. Batch consumers
(analysis, the daily file writer) take rows as they are; no Reading object is built on their path."""

_new_reading: Final = fast_constructor(Reading)


def row_from_reading(reading: Reading) -> Row:
    """The row of a Reading (its non-null values), as the parser would have given it."""
    values = {name: value for name in VALUE_FIELDS if (value := getattr(reading, name)) is not None}
    ts_us = (reading.ts - _EPOCH) // _ONE_US
    return (reading.device_id, reading.channel, ts_us, reading.received_ms, reading.generation, values)


_ONE_US: Final = timedelta(microseconds=1)


def reading_from_row(row: Row) -> Reading:
    """The Reading of one row, without pydantic validation (the values were checked by the parser)."""
    device_id, channel, ts_us, received_ms, generation, values = row
    data = {
        "device_id": device_id,
        "channel": channel,
        "ts": ts_from_us(ts_us),
        "received_ms": received_ms,
        "generation": generation,
    }
    data.update(values)
    return _new_reading(data)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _clip(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[:size] + "…"
