"""The daily readings file: its canonical line, its one writer and its readers.

A daily file (`daily/dt=…/device=…/readings.jsonl.gz`) is gzip (level 6, mtime 0) of one line per reading,
`{"channel":0,"device_id":"…",…,"ts":"…Z"}`: keys sorted, no spaces, `null`s left out, `ts` as
`2026-11-27T10:00:00.123Z` (UTC, truncated to the millisecond), numbers as Python's `repr` (the shortest text that
reads back to the same float).

- Writer: `reading_lines` (many readings at once; `reading_line`, called by `Reading.to_json_line`, is it for one
  reading) and `daily_file_bytes`, so a file written twice from the same readings is byte-identical. The aggregator
  writes the same text without a string per line: `float_shape_text` (a day of one shape) or `templated_text`
  (several shapes), compressed by `daily_text_bytes`.
- Readers: `read_columns` (arrays for the loader and the energy engine), `readings_from_file` (Reading objects, for the
  aggregator's merge and the alert detectors), `daily_bytes`, `daily_text_lines`, `text_lines`.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any, Final

from wattline.errors import PermanentError

if TYPE_CHECKING:  # (no numpy at run time: the archiver's bundle writes lines and has none)
    import numpy as np
    from numpy.typing import NDArray

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTES: dict[int, str] = {}  # minute since the epoch → "YYYY-MM-DDTHH:MM:" (a day's file touches ~1,440)
_MINUTES_MAX: Final = 100_000
_json_str = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (ensure_ascii)
_TEMPLATES: dict[tuple[bool, str, tuple[str, ...]], tuple[str, tuple[int, ...]]] = {}


def ts_text(us: int) -> str:
    """The line's text of a time in microseconds since the epoch (`format_ts`, truncated to the millisecond)."""
    seconds, micros = divmod(us, 1_000_000)
    minute, second = divmod(seconds, 60)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        moment = _EPOCH + timedelta(minutes=minute)
        prefix = _MINUTES[minute] = moment.strftime("%Y-%m-%dT%H:%M:")
    return f"{prefix}{second:02d}.{micros // 1000:03d}Z"


def reading_line(
    device_id: str,
    channel: int | None,
    ts: str,
    received_ms: int,
    generation: str,
    values: Mapping[str, Any],
) -> str:
    """The JSON line of one reading; `ts` is `ts_text` of its time, `values` its non-null quantities (and
    `online` / `relay`): `reading_lines` of one reading."""
    return reading_lines([device_id], [channel], [ts], [received_ms], [generation], [values])[0]


def reading_lines(
    device_ids: Sequence[str],
    channels: Sequence[int | None],
    ts: Sequence[str],
    received_ms: Sequence[int],
    generations: Sequence[str],
    values: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The JSON lines of many readings, in order (the columns as `reading_line` takes one reading's fields).

    Readings of one shape (channel or none, generation, value names in order) are written together: when every
    value of the shape is a float (nearly always), from one `str.format` template made once per shape, mapped over
    the shape's columns in C; otherwise each through the JSON encoder."""
    shapes: dict[tuple[bool, str, tuple[str, ...]], list[int]] = {}
    for index, key in enumerate(zip(map(_is_none, channels), generations, map(tuple, values), strict=True)):
        members = shapes.get(key)
        if members is None:
            shapes[key] = [index]
        else:
            members.append(index)
    quoted = {device_id: _json_str(device_id) for device_id in set(device_ids)}
    if len(shapes) == 1:  # one shape (a Gen2 meter's deltas, one Gen1 quantity): no gathering by index
        ((key, members),) = shapes.items()
        return _shape_lines(key, device_ids, channels, ts, received_ms, values, quoted)
    lines = [""] * len(values)
    for key, members in shapes.items():
        written = _shape_lines(
            key,
            [device_ids[i] for i in members],
            [channels[i] for i in members],
            [ts[i] for i in members],
            [received_ms[i] for i in members],
            [values[i] for i in members],
            quoted,
        )
        for index, line in zip(members, written, strict=True):
            lines[index] = line
    return lines


def _is_none(value: object) -> bool:
    return value is None


def _shape_lines(
    key: tuple[bool, str, tuple[str, ...]],
    device_ids: Sequence[str],
    channels: Sequence[int | None],
    ts: Sequence[str],
    received_ms: Sequence[int],
    values: Sequence[Mapping[str, Any]],
    quoted: Mapping[str, str],
) -> list[str]:
    """The lines of readings of one shape (`reading_lines`)."""
    no_channel, generation, names = key
    columns = [[row[name] for row in values] for name in names]
    if all(set(map(type, column)) == _FLOAT for column in columns):
        quoted_ids = list(map(quoted.__getitem__, device_ids))
        return float_shape_lines(
            *float_shape_template(no_channel, generation, names, quoted_ids, channels, ts, received_ms, columns)
        )
    return [
        _encoded(device_id, channel, text, received, generation, row)
        for device_id, channel, text, received, row in zip(device_ids, channels, ts, received_ms, values, strict=True)
    ]


def float_shape_lines(template: str, arguments: Sequence[Sequence[Any]]) -> list[str]:
    """The lines of readings of one shape whose values are all floats, from `float_shape_template`'s template and
    columns: the template applied to each row's values in C."""
    return list(map(template.__mod__, zip(*arguments, strict=True)))


def float_shape_text(template: str, arguments: Sequence[Sequence[Any]]) -> list[str]:
    """`float_shape_lines` as text: the lines, each followed by its line break, in pieces of up to `_CHUNK_LINES`
    lines, each piece made by one `%` of the line's template repeated (not a `%` and a string per line)."""
    line = template + "\n"
    whole = line * _CHUNK_LINES
    pieces = []
    for start in range(0, len(arguments[0]), _CHUNK_LINES):
        values = tuple(
            chain.from_iterable(zip(*[column[start : start + _CHUNK_LINES] for column in arguments], strict=True))
        )
        count = len(values) // len(arguments)
        pieces.append((whole if count == _CHUNK_LINES else line * count) % values)
    return pieces


def templated_text(
    templates: NDArray[np.object_], arguments: NDArray[np.object_], ends: NDArray[np.int64]
) -> list[str]:
    """Lines of several shapes as text, in pieces of up to `_CHUNK_LINES` lines: line i is `templates[i]` (its
    shape's `%` template, with its line break) filled with its values, `arguments[ends[i - 1]:ends[i]]` (every
    line's values in one array, in line order); a piece is one `%` of its lines' templates joined. A line written
    whole is its own template (any `%` doubled) with no values."""
    pieces = []
    for start in range(0, len(templates), _CHUNK_LINES):
        end = min(start + _CHUNK_LINES, len(templates))
        first = int(ends[start - 1]) if start else 0
        values = tuple(arguments[first : int(ends[end - 1])].tolist())
        pieces.append("".join(templates[start:end].tolist()) % values)
    return pieces


def float_shape_template(
    no_channel: bool,
    generation: str,
    names: tuple[str, ...],
    quoted_device_ids: Sequence[str],
    channels: Sequence[int | None],
    ts: Sequence[str],
    received_ms: Sequence[int],
    columns: Sequence[Sequence[float | str]],
) -> tuple[str, list[Sequence[Any]]]:
    """The `%` template of the line of readings of one shape whose values are all floats (finite, Python floats),
    and the columns that fill its slots, in the slots' order. `quoted_device_ids`: each id as its JSON string
    (`json_string`); `columns[k]`: the values of `names[k]`, as floats or as their `repr`."""
    key = (no_channel, generation, names)
    shape = _TEMPLATES.get(key)
    if shape is None:
        shape = _TEMPLATES[key] = _template(no_channel, generation, names)
    template, order = shape
    arguments = (channels, quoted_device_ids, received_ms, ts, *columns)
    return template, [arguments[index] for index in order]


json_string: Final = _json_str
"""A str as `json.dumps` writes it (ASCII): how the line writes the device id."""


_FLOAT: Final = {float}


def _template(no_channel: bool, generation: str, names: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """A `%` template of the line, keys sorted, and which argument fills each of its slots in turn: 0 channel,
    1 device id (JSON), 2 received_ms, 3 ts text, 4… the values in `names` order (finite floats, whose `str` is
    their JSON)."""
    slots = {"device_id": ("%s", 1), "generation": (_json_str(generation), None), "received_ms": ("%s", 2)}
    slots["ts"] = ('"%s"', 3)
    if not no_channel:
        slots["channel"] = ("%s", 0)
    slots |= {name: ("%s", index + 4) for index, name in enumerate(names)}
    ordered = sorted(slots.items())
    template = ",".join(f'"{name}":{text}' for name, (text, _argument) in ordered)
    return "{" + template + "}", tuple(argument for _name, (_text, argument) in ordered if argument is not None)


def _encoded(
    device_id: str, channel: int | None, ts: str, received_ms: int, generation: str, values: Mapping[str, Any]
) -> str:
    data: dict[str, Any] = {"device_id": device_id, "ts": ts, "received_ms": received_ms, "generation": generation}
    if channel is not None:
        data["channel"] = channel
    data.update((name, value) for name, value in values.items() if value is not None)
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def daily_file_bytes(lines: Sequence[str]) -> bytes:
    """The bytes of a daily file holding `lines` (in file order): `daily_text_bytes` of their text."""
    return daily_text_bytes(
        "\n".join(lines[start : start + _CHUNK_LINES]) + "\n" for start in range(0, len(lines), _CHUNK_LINES)
    )


def daily_text_bytes(pieces: Iterable[str]) -> bytes:
    """The bytes of a daily file of the text `pieces` (whole lines, each with its line break): gzip level 6 with
    mtime 0, so equal lines give equal bytes (and equal checksums in the manifest). The bytes of
    `gzip.compress(text, 6, mtime=0)`, compressed a piece at a time (deflate's output does not depend on how its
    input is split), so the whole text is never held."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [_GZIP_HEADER]
    crc = size = 0
    for piece in pieces:
        chunk = piece.encode("utf-8")
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        parts.append(deflate.compress(chunk))
    parts.append(deflate.flush())
    parts.append(struct.pack("<LL", crc, size & 0xFFFFFFFF))
    return b"".join(parts)


_CHUNK_LINES: Final = 8192
# gzip's member header as `gzip.compress(…, compresslevel=6, mtime=0)` writes it on Python 3.11: magic, deflate, no
# flags, mtime 0, no extra flags (levels 2-8), OS Unix (3). Fixed here, so the bytes never depend on the Python.
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00" + struct.pack("<L", 0) + b"\x00\x03"


def daily_bytes(data: bytes) -> bytes:
    """A daily file (gzip or plain) as its plain JSONL bytes."""
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def daily_text_lines(data: bytes) -> tuple[str, list[str]]:
    """A daily file (gzip or plain) as its text and its non-blank lines; PermanentError when it is not UTF-8."""
    return text_lines(daily_bytes(data))


def text_lines(raw: bytes) -> tuple[str, list[str]]:
    """Plain JSONL bytes as their text and their non-blank lines; PermanentError when they are not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentError(f"readings file is not UTF-8: {exc}") from exc
    return text, [line for line in text.splitlines() if line.strip()]
