"""Shelly message parsers: envelopes in, canonical readings or quarantine records out.

Pure (no I/O, no cloud SDK) and total: every input gives a ParseOutcome, nothing raises to the caller.
Each envelope gives either one or more readings or exactly one quarantine record.

Public API (stable; other stages code against it):
- parse_envelope(envelope, *, now_ms=None, state=None, device_id=None) -> ParseOutcome
      `device_id`: the device of the raw partition the message was stored under; readings naming another device
      are quarantined as device_mismatch.
- parse_line(line, *, source_key=None, now_ms=None, state=None, device_id=None) -> ParseOutcome
      one JSON envelope line (bytes or str); a line that is not a valid Envelope is quarantined
      with reason malformed_envelope and its original bytes.
- parse_object(data, *, source_key=None, now_ms=None, state=None, device_id=None) -> list[ParseOutcome]
      one stored raw object: a single envelope, or newline-delimited envelopes (Firehose batches).
- envelope_from_capture(topic, payload_text, received_at_s) -> Envelope
      the fields of a capture line. Which lines `wattline analyze` and `wattline import` accept is decided by
      `wattline.parsing.lines` (capture_message, reading_from_record, json_object).
- Gen2State: last full state per (device, component), overlaid with each NotifyStatus delta.
"""

from wattline.parsing.envelope import envelope_from_capture, parse_envelope, parse_line, parse_object
from wattline.parsing.limits import MAX_JSON_DEPTH, MAX_LINE_BYTES, MAX_PAYLOAD_BYTES
from wattline.parsing.state import Gen2State

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "Gen2State",
    "envelope_from_capture",
    "parse_envelope",
    "parse_line",
    "parse_object",
]
