"""A daily readings file as arrays (`wattline.formats.readings` owns the line; this is its columnar reader, apart
because it needs numpy and the line writer must not: every Lambda imports the writer)."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import repeat
from operator import attrgetter, eq
from typing import TYPE_CHECKING, Any, Final

import msgspec
import numpy as np
from numpy.typing import NDArray

from wattline.errors import PermanentError
from wattline.formats.readings import daily_bytes, text_lines

if TYPE_CHECKING:
    from wattline.models import Reading

NO_CHANNEL: Final = -1  # the channel of a device-level reading (channel None)
_GEN2: Final = "gen2"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReadingColumns:
    """Readings as arrays, one row per reading: a daily readings file (one JSON decode for the whole file), a
    window of `readings_ext`, or Reading objects (`from_readings`). The energy engine and alert detection read it.

    Quantities the reading did not carry are NaN; `channel` is -1 for device-level readings (channel None);
    `online` is 1 or 0 where the reading carried it (0: an MQTT last will), -1 where it did not.
    """

    device_id: NDArray[np.str_]
    channel: NDArray[np.int64]
    ts_us: NDArray[np.int64]  # UTC microseconds since the epoch (the daily line keeps milliseconds)
    received_ms: NDArray[np.int64]
    gen2: NDArray[np.bool_]
    power_w: NDArray[np.float64]
    energy_total_wh: NDArray[np.float64]
    energy_returned_wh: NDArray[np.float64]
    voltage_v: NDArray[np.float64]
    online: NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.ts_us)

    @cached_property
    def ts_s(self) -> NDArray[np.float64]:
        """UTC Unix seconds, as the energy engine takes them (== `Reading.ts.timestamp()`)."""
        return self.ts_us / 1e6

    @cached_property
    def devices(self) -> tuple[NDArray[np.str_], NDArray[np.int64]]:
        """The distinct device ids, sorted, and each row's index among them (`np.unique(..., return_inverse=True)`).

        One vectorised comparison per distinct id instead of sorting every row's text: a file or a window holds one
        or a few devices."""
        ids = self.device_id
        first_seen = np.empty(len(ids), np.int64)
        found: list[np.str_] = []
        unmatched = np.ones(len(ids), np.bool_)
        while unmatched.any():
            name = ids[int(np.argmax(unmatched))]
            same = ids == name
            first_seen[same] = len(found)
            found.append(name)
            unmatched &= ~same
        names = np.array(found, dtype=ids.dtype)
        order = np.argsort(names, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        return names[order], rank[first_seen]

    def rows(self, device: str, channel: int) -> NDArray[np.intp]:
        """Indices of one (device, channel), sorted by time."""
        idx = np.flatnonzero((self.channel == channel) & (self.device_id == device))
        return idx[np.argsort(self.ts_us[idx], kind="stable")]

    def channel_keys(self) -> list[tuple[str, int]]:
        """The (device, channel) pairs of the readings that have a channel, sorted."""
        real = self.channel != NO_CHANNEL
        names, device = self.devices
        channel = self.channel[real]
        low = int(channel.min()) if len(channel) else 0
        span = (int(channel.max()) if len(channel) else 0) - low + 1
        pairs = np.unique(device[real] * span + (channel - low)).tolist()  # one int per (device, channel)
        return [(str(names[pair // span]), pair % span + low) for pair in pairs]

    def channels(self, device: str) -> list[int]:
        chans = self.channel[(self.device_id == device) & (self.channel != NO_CHANNEL)]
        return sorted(int(c) for c in np.unique(chans))

    def carries(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        return np.isfinite(self.power_w), np.isfinite(self.energy_total_wh), np.isfinite(self.energy_returned_wh)

    def take(self, rows: NDArray[np.intp] | NDArray[np.bool_]) -> ReadingColumns:
        """The given rows (indices or a mask), in that order."""
        return ReadingColumns(*(getattr(self, name)[rows] for name in _FIELDS))

    @classmethod
    def concat(cls, parts: Sequence[ReadingColumns]) -> ReadingColumns:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in _FIELDS))

    @classmethod
    def empty(cls) -> ReadingColumns:
        return cls.from_arrays({})

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> ReadingColumns:
        """From one array per field (a query's columns, named as the fields); a missing field is empty."""
        return cls(*(np.asarray(arrays.get(name, ()), dtype=dtype) for name, dtype in _DTYPES.items()))

    @classmethod
    def from_readings(cls, readings: Iterable[Reading]) -> ReadingColumns:
        """Reading objects as columns (the near-real-time watchdog's few, and tests)."""
        found = list(readings)
        return cls.from_arrays(
            {
                "device_id": [r.device_id for r in found],
                "channel": [_channel(r.channel) for r in found],
                "ts_us": [(r.ts - _EPOCH) // _ONE_US for r in found],
                "received_ms": [r.received_ms for r in found],
                "gen2": [r.generation == _GEN2 for r in found],
                "power_w": [r.power_w for r in found],
                "energy_total_wh": [r.energy_total_wh for r in found],
                "energy_returned_wh": [r.energy_returned_total_wh for r in found],
                "voltage_v": [r.voltage_v for r in found],
                "online": [_online(r.online) for r in found],
            }
        )


_DTYPES: Final[dict[str, type[np.generic]]] = {
    "device_id": np.str_,
    "channel": np.int64,
    "ts_us": np.int64,
    "received_ms": np.int64,
    "gen2": np.bool_,
    "power_w": np.float64,  # None becomes NaN in a float array
    "energy_total_wh": np.float64,
    "energy_returned_wh": np.float64,
    "voltage_v": np.float64,
    "online": np.int8,
}
_FIELDS: Final = tuple(_DTYPES)


def _channel(value: Any) -> int:
    return NO_CHANNEL if value is None else int(value)


def _online(value: Any) -> int:
    return -1 if value is None else int(bool(value))


def written_columns(
    lines: NDArray[np.intp],
    *,
    devices: Sequence[str],
    device: NDArray[np.integer[Any]],
    channel: NDArray[np.int64],
    ts_us: NDArray[np.int64],
    received_ms: NDArray[np.int64],
    gen2: NDArray[np.bool_],
    quantities: Mapping[str, NDArray[np.float64]],
    states: NDArray[np.object_],
) -> ReadingColumns:
    """What `read_columns` gives for the daily file the writer makes of these readings, without the file: the
    columns of readings `lines[0]`, `lines[1]`, … (the file's lines in order) of the arrays given, one entry per
    reading. `device`: each reading's index into `devices`; `channel`: `NO_CHANNEL` for a device-level reading;
    `quantities`: the values by their line key (NaN: not carried, so not written); `states`: each reading's
    `{"online": …}` / `{"relay": …}` or None.

    The line keeps the writer's rules, so the columns do too: the time truncated to the millisecond (`ts_text`),
    the generation only as "gen2" or not, and the device ids as wide as the longest one written."""
    used, index = np.unique(device[lines], return_inverse=True)
    names = np.asarray([devices[i] for i in used.tolist()], dtype=np.str_)  # dtype: the longest id read back
    online = np.full(len(lines), -1, np.int8)
    picked = states[lines]
    for position in np.flatnonzero(picked.astype(np.bool_)).tolist():  # (a few device-level readings a day)
        online[position] = _online(picked[position].get("online"))

    def quantity(name: str) -> NDArray[np.float64]:
        values = quantities.get(name)
        return np.full(len(lines), math.nan) if values is None else values[lines]

    return ReadingColumns.from_arrays(
        {
            "device_id": names[index.ravel()],
            "channel": channel[lines],
            "ts_us": ts_us[lines] // 1000 * 1000,
            "received_ms": received_ms[lines],
            "gen2": gen2[lines],
            "power_w": quantity("power_w"),
            "energy_total_wh": quantity("energy_total_wh"),
            "energy_returned_wh": quantity("energy_returned_total_wh"),
            "voltage_v": quantity("voltage_v"),
            "online": online,
        }
    )


def read_columns(data: bytes) -> ReadingColumns:
    """Parse a `readings.jsonl.gz` (or plain JSONL) file into columns. Raises PermanentError on a bad line."""
    return _read(data, plain=False)


def read_jsonl(raw: bytes) -> ReadingColumns:
    """Plain JSONL reading lines (a daily file's bytes, or a run of its lines) as columns; PermanentError on a bad
    line."""
    return _read(raw, plain=True)


def _read(data: bytes, *, plain: bool) -> ReadingColumns:
    """Lines as the writer makes them (ASCII, `\\n`-separated) are decoded straight from the bytes, as the JSON
    array `[line,line,…]`, by msgspec into `_Line` structs: no text, line list or dicts in between, and each stage
    freed before the next is built (the array is built while decompressing, then the structs). Anything else
    (non-ASCII, blank lines, other line breaks, JSON msgspec does not take, a line that is not a reading) goes
    through `parse_lines` over `text_lines`, which gives the same columns and names the bad line."""
    array = _json_array(_pieces(data) if plain or data[:2] != _GZIP else _gunzipped(data))
    if array is not None:
        try:
            records = _LINES.decode(array)
        except msgspec.MsgspecError:
            pass
        else:
            del array
            return _columns(records)
    return parse_lines(text_lines(data if plain else daily_bytes(data))[1])


_GZIP: Final = b"\x1f\x8b"
_CHUNK: Final = 1 << 20


def _gunzipped(data: bytes) -> Iterator[bytes]:
    """A one-member gzip file's plain bytes, a chunk at a time; raises ValueError on anything else (several
    members, a truncated or damaged stream), which `daily_bytes` then reads or reports as it always has."""
    try:
        stream = zlib.decompressobj(wbits=31)
        chunk = stream.decompress(data, _CHUNK)
        while chunk:
            yield chunk
            chunk = stream.decompress(stream.unconsumed_tail, _CHUNK)
    except zlib.error as exc:
        raise ValueError("not one gzip member") from exc
    if not stream.eof or stream.unused_data:
        raise ValueError("not one gzip member")


def _pieces(data: bytes) -> Iterator[bytes]:
    """Plain bytes a chunk at a time, as `_gunzipped` gives a file's: the array is built without a whole copy."""
    for start in range(0, len(data), _CHUNK):
        yield data[start : start + _CHUNK]


def _json_array(chunks: Iterable[bytes]) -> bytearray | None:
    """`[line,line,…]` of the ASCII lines in `chunks`; None when they are not ASCII, or not one gzip member (then
    only `text_lines` splits them, as the reader always has: ASCII is valid UTF-8, and only `\\n` or `\\r\\n`
    can end a line that it keeps)."""
    array = bytearray(b"[")
    try:
        for chunk in chunks:
            if not chunk.isascii():
                return None
            array += chunk.replace(b"\n", b",")  # a file's last line ends in a newline: `[line,line,…,`
    except ValueError:
        return None
    if array.endswith(b","):
        array[-1:] = b"]"
    else:
        array += b"]"
    return array


class _Line(msgspec.Struct, gc=False):
    """The fields of a reading line the columns take (others are ignored), as decoded: any JSON value, so that
    odd values reach the same conversions (and errors) as through `json`; a missing key is the default (a missing
    quantity NaN, as an explicit null becomes in the float column)."""

    device_id: Any
    ts: Any
    channel: Any = NO_CHANNEL
    received_ms: Any = 0
    generation: Any = None
    power_w: Any = math.nan
    energy_total_wh: Any = math.nan
    energy_returned_total_wh: Any = math.nan
    voltage_v: Any = math.nan
    online: Any = None


_LINES: Final = msgspec.json.Decoder(list[_Line])
_LINE_FIELDS: Final = _Line.__struct_fields__


def parse_lines(lines: Sequence[str]) -> ReadingColumns:
    """Reading lines into columns; PermanentError naming the first line that is not a reading."""
    try:
        # One C-scanner pass over `[line,line,...]` is several times faster than a json.loads per line.
        return _columns(_LINES.decode("[" + ",".join(lines) + "]"))
    except msgspec.MsgspecError:
        pass  # JSON only `json` takes (NaN, lone surrogates, 1e400), or a line that is not a reading: find it
    try:
        records: list[dict[str, Any]] = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise PermanentError(f"line {number} is not JSON: {exc}") from exc
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or "ts" not in record or "device_id" not in record:
            raise PermanentError(f"line {number} is not a reading")
    return _columns([_Line(**{name: r[name] for name in _LINE_FIELDS if name in r}) for r in records])


def _columns(records: list[_Line]) -> ReadingColumns:
    """The decoded lines as columns: each field gathered by a C-level map, converted by one numpy call."""

    def field(name: str) -> list[Any]:
        return list(map(attrgetter(name), records))

    ts = field("ts")
    ts = list(map(str.removesuffix, ts if _all(ts, str) else map(str, ts), repeat("Z")))
    if "+" in "".join(ts):
        ts = [t.split("+")[0] for t in ts]
    try:
        ts_ms = np.array(ts, dtype="datetime64[ms]").astype(np.int64) if ts else np.zeros(0, np.int64)
        channel, online = field("channel"), field("online")
        return ReadingColumns.from_arrays(
            {
                "device_id": _texts(field("device_id")),
                "channel": channel if _all(channel, int) else list(map(_channel, channel)),
                "ts_us": ts_ms * 1000,
                "received_ms": field("received_ms"),
                "gen2": list(map(eq, field("generation"), repeat(_GEN2))),
                "power_w": field("power_w"),
                "energy_total_wh": field("energy_total_wh"),
                "energy_returned_wh": field("energy_returned_total_wh"),
                "voltage_v": field("voltage_v"),
                "online": [-1] * len(online) if online.count(None) == len(online) else list(map(_online, online)),
            }
        )
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"bad value in readings file: {exc}") from exc


_TS_TEXT: Final = "0000-00-00T00:00:00.000"  # a line's time as the writer writes it (then "Z"): 0 for a digit
_MONTH_DAYS: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _iso_ms(chars: NDArray[np.uint8]) -> NDArray[np.int64] | None:
    """ASCII `YYYY-MM-DDTHH:MM:SS.mmm` texts, given as one row per character (a (23, n) byte matrix: row i holds the
    i-th character of every text), as milliseconds since the epoch, as `np.array(texts, "datetime64[ms]")` reads
    them; None unless every text is in exactly that form and names a real time from year 1 on (the caller then
    takes numpy's parser, which reads or rejects them as it always has)."""
    if chars.shape[0] != len(_TS_TEXT) or not chars.shape[1] or not _matches(chars, _TS_TEXT.encode()):
        return None

    def number(first: int, last: int) -> NDArray[np.int64]:  # characters first..last-1, all digits
        value: NDArray[np.int64] = chars[first].astype(np.int64) - ord("0")
        for row in chars[first + 1 : last]:
            value = value * 10 + (row - ord("0"))
        return value

    year, month, day = number(0, 4), number(5, 7), number(8, 10)
    hour, minute, second, milli = number(11, 13), number(14, 16), number(17, 19), number(20, 23)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    if not bool(valid.all()) or bool((day > _MONTH_DAYS[month] + (leap & (month == 2))).any()):
        return None
    # Days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil; years from March on).
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: NDArray[np.int64] = era * 146_097 + day_of_era - 719_468
    return (((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + milli


def _matches(chars: NDArray[np.uint8], form: bytes) -> bool:
    """Every text (one row per character, as `_iso_ms` takes them) is `form`, where each "0" stands for a digit."""
    for row, expected in zip(chars, form, strict=True):
        if expected == ord("0"):
            if row.min() < ord("0") or row.max() > ord("9"):
                return False
        elif not bool((row == expected).all()):
            return False
    return True


# A line's end as the writer writes it when `"ts"` is its last key.
_TS_KEY: Final = b'"ts":"'
_TS_END: Final = b'Z"}'
_TS_TAIL: Final = len(_TS_KEY) + len(_TS_TEXT) + len(_TS_END)
_TS_ANYWHERE: Final = re.compile(rb'"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z"')


def line_times_ms(raw: bytes, starts: NDArray[np.intp], ends: NDArray[np.intp]) -> NDArray[np.int64] | None:
    """The time of each line `raw[starts[i]:ends[i]]` of ASCII JSONL in milliseconds since the epoch, read from its
    `"ts":"…Z"` text without parsing JSON; None when that fails (the caller then parses the lines).

    Lines that all end in their time (the writer sorts keys: every line without `voltage_v`) are read at once from
    their last bytes; that is the line's last `"ts"`, the one the reader decodes. Other files go through a regex
    over the whole text, which must find exactly one time per line."""
    if len(ends) and bool((ends - starts >= _TS_TAIL).all()):
        windows = np.lib.stride_tricks.sliding_window_view(np.frombuffer(raw, np.uint8), _TS_TAIL)
        tails = np.ascontiguousarray(windows[ends - _TS_TAIL].T)  # row i: the i-th of every line's last bytes
        text = tails[len(_TS_KEY) : -len(_TS_END)]
        if _matches(tails[: len(_TS_KEY)], _TS_KEY) and _matches(tails[-len(_TS_END) :], _TS_END):
            found = _iso_ms(text)
            if found is not None:
                return found
    stamps = _TS_ANYWHERE.findall(raw)
    if len(stamps) != len(ends):
        return None
    return np.array(stamps, dtype="datetime64[ms]").astype(np.int64)


def _all(values: list[Any], kind: type) -> bool:
    """Every value is exactly of type `kind` (not a subclass: a bool is no channel number)."""
    return bool(values) and set(map(type, values)) == {kind}


def _texts(values: list[Any]) -> NDArray[np.str_]:
    """`np.asarray([str(v) for v in values], np.str_)`, converting each distinct text once (a file holds one or a
    few device ids)."""
    if not _all(values, str):
        return np.asarray(list(map(str, values)), dtype=np.str_)
    distinct = dict.fromkeys(values)
    if len(distinct) == 1:  # a daily file: one device
        return np.asarray(list(distinct), dtype=np.str_).repeat(len(values))
    index = {text: i for i, text in enumerate(distinct)}
    return np.asarray(list(distinct), dtype=np.str_)[np.fromiter(map(index.__getitem__, values), np.intp, len(values))]
