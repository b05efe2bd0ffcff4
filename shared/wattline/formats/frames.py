"""Bulk framing of JSON Lines inputs on msgspec (a C decoder), with the general rule as the only judge of bad lines.

Two line formats arrive by the hundred thousand:
- stored envelopes (`{"topic", "received_ms", "payload" | "payload_b64"}`: what the IoT rules and the local bridge
  write under raw/), read by the aggregator;
- capture lines (`{"topic", "payload", "received_at"}`: what `wattline demo` saves), read by `analyze` and `import`.

Each is decoded into a typed msgspec Struct, a whole block of lines at once. msgspec accepts a subset of what the
standard JSON decoders accept and gives the same values where it accepts (big integers, duplicate keys, escapes);
a line it refuses — a type the Struct does not allow, NaN, a lone surrogate, invalid UTF-8, or anything that is not
an envelope at all — is handed back for the general rule (`wattline.parsing`, `wattline.parsing.lines`), which
accepts it or says exactly why not. So the fast decoder changes no outcome; it only spares the common line the
Python-level work.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, NamedTuple

import msgspec


class _StoredEnvelope(msgspec.Struct, gc=False):
    topic: str
    received_ms: int
    payload: Any = None
    payload_b64: str | None = None


_ENVELOPE: Final = msgspec.json.Decoder(_StoredEnvelope)
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


def envelope_fields(line: bytes) -> EnvelopeFields | None:
    """A stored envelope line's fields, or None when it is not a well-formed envelope (the parser then quarantines
    it with its reason): a JSON object with a string `topic`, an integer `received_ms` (a float with an integer
    value counts) and exactly one of `payload` and a string `payload_b64`; other keys are ignored."""
    try:
        decoded = _ENVELOPE.decode(line)
        topic, received_ms, payload, payload_b64 = (
            decoded.topic,
            decoded.received_ms,
            decoded.payload,
            decoded.payload_b64,
        )
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: the general decoder decides
        parts = _general_envelope(line)
        if parts is None:
            return None
        topic, received_ms, payload, payload_b64 = parts
    if (payload is None) == (payload_b64 is None):
        return None
    raw_payload = b"" if payload_b64 is not None or isinstance(payload, str) else _RECEIVED_MS_RE.sub(b"", line, 1)
    return EnvelopeFields(topic, received_ms, payload, payload_b64, raw_payload)


def _general_envelope(line: bytes) -> tuple[str, int, Any, str | None] | None:
    try:
        text = line.decode("utf-8").strip()
        value, end = _JSON.raw_decode(text)
    except (ValueError, RecursionError):
        return None
    if end != len(text) or not isinstance(value, dict):
        return None
    topic, received_ms = value.get("topic"), value.get("received_ms")
    payload, payload_b64 = value.get("payload"), value.get("payload_b64")
    if isinstance(received_ms, float) and received_ms.is_integer():
        received_ms = int(received_ms)
    if not isinstance(topic, str) or received_ms.__class__ is not int:
        return None
    if payload_b64 is not None and not isinstance(payload_b64, str):
        return None
    return topic, received_ms, payload, payload_b64


class Capture(msgspec.Struct, gc=False):
    """A capture line that decoded with the expected types; its receive time is not checked yet."""

    topic: str
    payload: str
    received_at: float


_CAPTURE: Final = msgspec.json.Decoder(Capture)


def decode_capture(line: bytes) -> Capture | None:
    """One capture line with the expected types, or None: the general rule (`wattline.parsing.lines`) then reads it
    and accepts it or says why not. Exactly one JSON value per line (msgspec's `decode_lines` would take two objects
    on one line, so lines are split here, not there)."""
    try:
        return _CAPTURE.decode(line)
    except (msgspec.DecodeError, RecursionError):  # nesting deeper than msgspec goes: the general rule says so
        return None
