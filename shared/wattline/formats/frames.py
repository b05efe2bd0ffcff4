"""Bulk framing of JSON Lines inputs on msgspec (a C decoder), with the general rule as the only judge of bad lines.

Two line formats arrive by the hundred thousand:
- stored envelopes (`{"topic", "received_ms", "payload" | "payload_b64"}`: what the IoT rules and the local bridge
  write under raw/), read by the aggregator;
- capture lines (`{"topic", "payload", "received_at"}`: what `wattline demo` saves), read by `analyze` and `import`.

Each line is decoded into a typed msgspec Struct (one line per call: msgspec's `decode_lines` would take two objects
on one line). msgspec accepts a subset of what the
standard JSON decoders accept and gives the same values where it accepts (big integers, duplicate keys, escapes);
a line it refuses — a type the Struct does not allow, NaN, a lone surrogate, invalid UTF-8, or anything that is not
an envelope at all — is handed back for the general rule (`wattline.parsing`, `wattline.parsing.lines`), which
accepts it or says exactly why not. So the fast decoder changes no outcome; it only spares the common line the
Python-level work.
"""

from __future__ import annotations

import binascii
import functools
import json
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple, TypeVar, cast

import msgspec

T = TypeVar("T")


class StoredEnvelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A stored envelope line as the rules write it. Other keys go to the general decoder, which checks what msgspec
    skips unread (their nesting depth, their UTF-8)."""

    topic: str
    received_ms: int
    payload: Any = None
    payload_b64: str | None = None


STORED_ENVELOPE: Final = msgspec.json.Decoder(StoredEnvelope)


class StoredB64Envelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A stored envelope line as the IoT rules and imports write nearly every one: its payload base64. A line with
    a `payload`, or without a `payload_b64` string, is not one."""

    topic: str
    received_ms: int
    payload_b64: str


STORED_B64_ENVELOPE: Final = msgspec.json.Decoder(StoredB64Envelope)
B64_ENVELOPE_FIELDS: Final = len(msgspec.structs.fields(StoredB64Envelope))  # topic, received_ms, payload_b64
_JSON: Final = json.JSONDecoder()
_RECEIVED_MS_RE: Final = re.compile(rb'"received_ms"\s*:\s*[-+0-9.eE]+')


class EnvelopeFields(NamedTuple):
    """The fields of one stored envelope line, decoded just enough to order and deduplicate it."""

    topic: str
    received_ms: int
    payload: Any
    payload_b64: str | None
    raw_payload: bytes
    """For a payload stored as a JSON value (not text): the line without its received_ms, to compare copies."""


def envelope_line(topic: str, received_ms: int, payload: Any, payload_b64: str | None) -> str:
    """A stored envelope line: `{"payload_b64":…,"received_ms":…,"topic":…}` (or `payload`), keys sorted, compact,
    nulls left out, ASCII: the line the IoT rules, the local bridge and `wattline import` write."""
    if payload is None and payload_b64 is not None and received_ms.__class__ is int:
        return f'{{"payload_b64":{_json_str(payload_b64)},"received_ms":{received_ms},"topic":{_json_str(topic)}}}'
    if payload_b64 is None and isinstance(payload, str) and received_ms.__class__ is int:
        return f'{{"payload":{_json_str(payload)},"received_ms":{received_ms},"topic":{_json_str(topic)}}}'
    data = {"topic": topic, "received_ms": received_ms, "payload": payload, "payload_b64": payload_b64}
    return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"), sort_keys=True)


_json_str: Final = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (ensure_ascii)


class NotAnEnvelope(ValueError):
    """A decoded line that is not a stored envelope; the text says why."""


def envelope_parts(value: Any) -> tuple[str, int, Any, str | None]:
    """The envelope rule on a decoded JSON value: an object with a string `topic`, an integer `received_ms` (a float
    with an integer value counts), exactly one of `payload` and a string `payload_b64`; other keys are ignored.
    Returns (topic, received_ms, payload, payload_b64), or raises NotAnEnvelope saying which part is wrong."""
    if not isinstance(value, dict):
        raise NotAnEnvelope("an envelope line must be a JSON object")
    topic, received_ms = value.get("topic"), value.get("received_ms")
    payload, payload_b64 = value.get("payload"), value.get("payload_b64")
    if not isinstance(topic, str):
        raise NotAnEnvelope("envelope: topic must be a string")
    if received_ms.__class__ is not int:
        if not (isinstance(received_ms, float) and received_ms.is_integer()):
            raise NotAnEnvelope("envelope: received_ms must be an integer")
        received_ms = int(received_ms)
    if (payload is None) == (payload_b64 is None):
        raise NotAnEnvelope("envelope: exactly one of payload or payload_b64")
    if payload_b64 is not None and not isinstance(payload_b64, str):
        raise NotAnEnvelope("envelope: payload_b64 must be a string")
    return topic, received_ms, payload, payload_b64


def envelope_fields(line: bytes) -> EnvelopeFields | None:
    """A stored envelope line's fields (`envelope_parts`), or None when it is not a well-formed envelope (the parser
    then quarantines it with its reason)."""
    try:
        decoded = STORED_ENVELOPE.decode(line)
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: the general decoder decides
        decoded = None
    if decoded is not None and (decoded.payload is None) != (decoded.payload_b64 is None):
        topic, received_ms, payload, payload_b64 = (
            decoded.topic,
            decoded.received_ms,
            decoded.payload,
            decoded.payload_b64,
        )
    else:
        try:
            text = line.decode("utf-8").strip()
            value, end = _JSON.raw_decode(text)
            if end != len(text):
                return None
            topic, received_ms, payload, payload_b64 = envelope_parts(value)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, NotAnEnvelope
            return None
    raw_payload = b"" if payload_b64 is not None or isinstance(payload, str) else _RECEIVED_MS_RE.sub(b"", line, 1)
    return EnvelopeFields(topic, received_ms, payload, payload_b64, raw_payload)


def struct_columns(structs: Sequence[Any], fields: int, count: int) -> list[list[Any]]:
    """The first `count` fields of Structs of `fields` fields each, a list per field: each Struct's values in one C
    call, appended to one list (in place: `iconcat`), the columns cut from it."""
    values: list[Any] = functools.reduce(operator.iconcat, map(msgspec.structs.astuple, structs), [])
    return [values[field::fields] for field in range(count)]


class Capture(msgspec.Struct, gc=False):
    """A capture line that decoded with the expected types; its receive time is not checked yet."""

    topic: str
    payload: str
    received_at: float


CAPTURE: Final = msgspec.json.Decoder(Capture)


def decode_all(decode: Callable[[Any], T], items: Sequence[Any]) -> list[T] | None:
    """`decode` (a msgspec decoder's or binascii's) of every item in one C loop, or None when one raises."""
    try:
        return list(map(decode, items))
    except (msgspec.DecodeError, RecursionError, ValueError, TypeError):  # binascii.Error is a ValueError
        return None


def decode_each(decode: Callable[[Any], T], items: Sequence[Any]) -> list[T | None]:
    """`decode` of every item, None where it raises: a C loop while nothing fails (`decode_all`), item by item
    once something does (`decode_one_by_one`)."""
    decoded = decode_all(decode, items)
    return decode_one_by_one(decode, items) if decoded is None else cast(list[T | None], decoded)


def decode_one_by_one(decode: Callable[[Any], T], items: Sequence[Any]) -> list[T | None]:
    """`decode` of each item on its own, None where it raises: after `decode_all` refused the items."""
    result: list[T | None] = []
    for item in items:
        try:
            result.append(decode(item))
        except (msgspec.DecodeError, RecursionError, ValueError, TypeError):
            result.append(None)
    return result


_a2b_strict: Final = functools.partial(binascii.a2b_base64, strict_mode=True)


def decode_base64_all(texts: Sequence[str]) -> list[bytes] | None:
    """Each text's bytes decoded from standard base64 by one C call, or None unless msgspec's decoder takes every
    one (it takes a subset of what binascii's strict mode takes: padded, nothing outside the alphabet; and gives
    the same bytes)."""
    try:
        return msgspec.convert(texts, list[bytes])
    except msgspec.ValidationError:
        return None


def decode_base64_each(texts: Sequence[str]) -> list[bytes | None]:
    """Each text's bytes decoded from standard base64 (strictly), None where it is not: one C call while every text
    is (`decode_base64_all`), binascii's strict mode text by text once one is not."""
    decoded = decode_base64_all(texts)
    return decode_each(_a2b_strict, texts) if decoded is None else cast(list[bytes | None], decoded)


def decode_captures(lines: Sequence[bytes | str]) -> list[Capture | None]:
    """Each capture line with the expected types, or None: the general rule (`wattline.parsing.lines`) then reads
    it and accepts it or says why not (nesting deeper than msgspec goes included). A line holds exactly one JSON
    value; a block decoded in one call is `formats.blocks.decode_capture_lines`, which checks that."""
    return decode_each(CAPTURE.decode, lines)


class _StoredLine(msgspec.Struct, gc=False):
    """A stored envelope with its payload base64 (msgspec writes bytes as standard base64) and its topic already
    JSON text: field order and compact output give `envelope_line`'s keys-sorted line."""

    payload_b64: bytes
    received_ms: int
    topic: msgspec.Raw


_LINES: Final = msgspec.json.Encoder()


@functools.lru_cache(maxsize=4096)
def _topic_json(topic: str) -> msgspec.Raw:
    return msgspec.Raw(_json_str(topic).encode("ascii"))


def envelope_lines(topics: Sequence[str], received_ms: Sequence[int], payloads: Sequence[bytes]) -> bytes:
    """The stored envelope line of each message (`envelope_line(topic, received_ms, None, base64(payload))`, the
    line the rules store), each followed by a newline, as one bytes: one msgspec call for the whole block."""
    return _LINES.encode_lines(list(map(_StoredLine, payloads, received_ms, map(_topic_json, topics))))
