"""One decoder call for a whole block of JSON lines (a raw object, a 1 MiB block of a capture file), apart from
`frames` so that what only frames lines (the archiver's bundle) needs no numpy."""

from __future__ import annotations

from typing import Final, NamedTuple, TypeVar

import msgspec
import numpy as np

from wattline.formats.frames import B64_ENVELOPE_FIELDS, CAPTURE, STORED_B64_ENVELOPE, Capture, struct_columns

T = TypeVar("T")


class StoredColumns(NamedTuple):
    """The envelopes of a raw object as columns, every payload base64."""

    topics: list[str]
    received_ms: list[int]
    payloads_b64: list[str]


def stored_columns(data: bytes, max_line_bytes: int) -> StoredColumns | None:
    """The common raw object (what the IoT rules and imports write) as columns: each line exactly one stored
    envelope (`decode_each_line`, one C call) with its payload as base64. None otherwise: the raw object is then
    framed line by line (`parsing.object_lines`), and each line decoded on its own."""
    decoded = decode_each_line(STORED_B64_ENVELOPE, data, max_line_bytes)
    if decoded is None:
        return None  # (a payload stored as text or a JSON value, or neither, among others)
    topics, received_ms, payloads_b64 = struct_columns(decoded, B64_ENVELOPE_FIELDS, B64_ENVELOPE_FIELDS)
    return StoredColumns(topics, received_ms, payloads_b64)


def decode_each_line(decoder: msgspec.json.Decoder[T], data: bytes, max_line_bytes: int | None) -> list[T] | None:
    """`decoder` (of JSON objects: a Struct's) over each `\n`-ended line of `data` (the last may lack its `\n`), in
    one C call: the values, or None unless each line is exactly one value the decoder takes, none longer than
    `max_line_bytes`.

    msgspec's `decode_lines` reads a stream of values, whatever the lines (two on one line, one over two): their
    count is checked against the lines', and each line must begin with `{` and end with `}` (a `\r` after it
    allowed). An object cut at a line break cannot go on with a line beginning with `{` (after a `}` inside an
    object or an array only `,`, `}` or `]` may follow), so each line holds whole values, at least one; as many
    values as lines is then exactly one each."""
    try:
        decoded = decoder.decode_lines(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not decoded:
        return None
    if len(decoded) <= _FEW_LINES:  # (an object per message: numpy's set-up would cost more than the lines)
        lines = data.split(b"\n")
        if not lines[-1]:
            lines.pop()  # (the final `\n` starts no line)
        if len(decoded) != len(lines) or not all(map(_one_object, lines)):
            return None
        if max_line_bytes is not None and max(map(len, lines)) > max_line_bytes:
            return None
        return decoded
    text = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(text == _NEWLINE)
    starts = np.concatenate(([0], ends + 1))
    if starts[-1] == len(data):  # (the final `\n` starts no line)
        starts = starts[:-1]
    else:
        ends = np.append(ends, len(data))
    if len(decoded) != len(starts) or (text[starts] != _OPEN).any():
        return None
    last = text[ends - 1]  # (each line is at least its `{`)
    returns = np.flatnonzero(last == _RETURN)
    last[returns] = text[ends[returns] - 2]
    if (last != _CLOSE).any():
        return None
    if max_line_bytes is not None and (ends - starts).max() > max_line_bytes:
        return None
    return decoded


def _one_object(line: bytes) -> bool:
    """A line that begins with `{` and ends with `}` (a `\r` after it allowed)."""
    return line[:1] == b"{" and line.removesuffix(b"\r")[-1:] == b"}"


_NEWLINE: Final = ord("\n")
_RETURN: Final = ord("\r")
_OPEN: Final = ord("{")
_CLOSE: Final = ord("}")
_FEW_LINES: Final = 32


def decode_capture_lines(data: bytes) -> list[Capture] | None:
    """Each line of a block of capture lines decoded by one C call, or None (`decode_each_line`): the lines are
    then decoded one by one (`frames.decode_captures`)."""
    return decode_each_line(CAPTURE, data, None)
