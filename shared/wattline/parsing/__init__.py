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
- object_lines(data) -> (non-blank lines, whether they may be one pretty-printed envelope): how every reader of a
      raw object frames it.
- envelope_from_capture(topic, payload_text, received_at_s) -> Envelope
      the fields of a capture line. Which lines `wattline analyze` and `wattline import` accept is decided by
      `wattline.parsing.lines` (capture_message, reading_from_record, json_object).
- parse_message(topic, received_ms, payload, payload_b64, *, now_ms, state=None, device_id=None, source_key=None)
      -> list[Row] | QuarantineRecord; parse_line_rows, parse_object_rows: the same for a line and an object.
      The batch consumers' entry points (analysis, the aggregator): the same rules and state updates, rows instead
      of Reading objects (a Row is (device_id, channel, ts µs, received_ms, generation, values);
      `reading_from_row` makes the Reading the other entry points return).
- Gen2State: last full state per (device, component), overlaid with each NotifyStatus delta. The parsers only
  write it (for consumers who want the full picture); no reading depends on it, so messages may be parsed in any
  order.
"""

from wattline.parsing._common import Row, reading_from_row, row_from_reading
from wattline.parsing.envelope import (
    envelope_from_capture,
    object_lines,
    parse_envelope,
    parse_line,
    parse_line_rows,
    parse_message,
    parse_object,
    parse_object_rows,
)
from wattline.parsing.limits import MAX_JSON_DEPTH, MAX_LINE_BYTES, MAX_PAYLOAD_BYTES
from wattline.parsing.state import Gen2State

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "Gen2State",
    "Row",
    "envelope_from_capture",
    "object_lines",
    "parse_envelope",
    "parse_line",
    "parse_line_rows",
    "parse_message",
    "parse_object",
    "parse_object_rows",
    "reading_from_row",
    "row_from_reading",
]
