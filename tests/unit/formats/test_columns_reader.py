"""`read_columns` (msgspec straight from the file's bytes, `parse_lines` for anything else) gives exactly the
columns, dtypes and errors of the reader it replaced: `json.loads` of the whole file and one list comprehension
per field, kept here (`reference_columns`) as the definition."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.errors import PermanentError
from wattline.formats.columns import _FIELDS, ReadingColumns, parse_lines, read_columns
from wattline.formats.readings import daily_file_bytes, daily_text_lines

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _channel(value: Any) -> int:
    return -1 if value is None else int(value)


def _online(value: Any) -> int:
    return -1 if value is None else int(bool(value))


def reference_lines(lines: list[str]) -> ReadingColumns:
    """The reader before msgspec (wattline 2026-12, `formats.columns.parse_lines`), verbatim."""
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
    n = len(records)
    ts_text = [str(r["ts"]).removesuffix("Z").split("+")[0] for r in records]
    try:
        ts_ms = np.array(ts_text, dtype="datetime64[ms]").astype(np.int64) if n else np.zeros(0, np.int64)
        return ReadingColumns.from_arrays(
            {
                "device_id": [str(r["device_id"]) for r in records],
                "channel": [_channel(r.get("channel")) for r in records],
                "ts_us": ts_ms * 1000,
                "received_ms": [r.get("received_ms", 0) for r in records],
                "gen2": [r.get("generation") == "gen2" for r in records],
                "power_w": [r.get("power_w") for r in records],
                "energy_total_wh": [r.get("energy_total_wh") for r in records],
                "energy_returned_wh": [r.get("energy_returned_total_wh") for r in records],
                "voltage_v": [r.get("voltage_v") for r in records],
                "online": [_online(r.get("online")) for r in records],
            }
        )
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"bad value in readings file: {exc}") from exc


def outcome(read: Any, arg: Any) -> tuple[str, Any]:
    try:
        return "ok", read(arg)
    except Exception as exc:  # the outcome compared is any exception: its type and message
        return type(exc).__name__, str(exc)


def assert_same(new: tuple[str, Any], ref: tuple[str, Any]) -> None:
    assert new[0] == ref[0], (new, ref)
    if new[0] != "ok":
        assert new[1] == ref[1]
        return
    for name in _FIELDS:
        got, want = getattr(new[1], name), getattr(ref[1], name)
        assert got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.tobytes() == want.tobytes(), name  # bit for bit: -0.0 and the NaNs too


# ---------------------------------------------------------------------------------------------------------------
# Lines: the writer's, and every oddity a file from storage might hold
# ---------------------------------------------------------------------------------------------------------------
TS = st.datetimes().map(lambda d: d.isoformat(timespec="milliseconds") + "Z")
ODD_TS = st.sampled_from(
    ["2026-11-27T10:00:00.123+00:00", "2026-11-27T10:00:00Z", "2026-11-27", "not a time", "", "2026-11-27T10:00Z+1"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(["1.5", "7", "gen2", "gen1", "nan"])
)
VALUES = SCALARS | st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=2), SCALARS, max_size=2)
DEVICES = st.sampled_from(["shellyproem50-08f9e0e67204", "a", "é", ""])
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0, 1e-05, 230.1, 1e16])


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws (and False when shrunk)."""
    return st.sampled_from([False] * (n - 1) + [True])


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A reading line's JSON value: mostly a reading with the usual fields (each maybe missing, null, or odd),
    sometimes not a reading at all."""
    if draw(one_in(60)):
        return draw(VALUES)
    odd = draw(one_in(8))
    fields: dict[str, Any] = {
        "device_id": draw(DEVICES | (VALUES if odd else DEVICES)),
        "ts": draw((ODD_TS | VALUES) if odd else TS),
        "channel": draw(st.integers(0, 3) | st.none() | (VALUES if odd else st.just(0))),
        "received_ms": draw(st.integers(0, 2**42) | (VALUES if odd else st.just(1))),
        "generation": draw(st.sampled_from(["gen1", "gen2"]) | (VALUES if odd else st.just("gen2"))),
        "online": draw(st.booleans() | st.none() | (VALUES if odd else st.just(True))),
        "relay": draw(st.booleans()),
        "unknown": draw(VALUES),
    }
    for name in ("power_w", "energy_total_wh", "energy_returned_total_wh", "voltage_v"):
        fields[name] = draw(FLOATS | st.integers(-(2**40), 2**40) | st.none() | (VALUES if odd else FLOATS))
    required = ("device_id", "ts")  # left out now and then: "not a reading"
    return {name: value for name, value in fields.items() if not draw(one_in(50 if name in required else 4))}


def line_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=True)


JUNK = st.sampled_from(["", "  ", "{", "[]", "1,2", "{}"])
lines_st = st.lists(records().map(line_text), max_size=8) | st.lists(records().map(line_text) | JUNK, max_size=8)


@PROPERTY
@given(lines_st)
def test_parse_lines_equals_reference(lines: list[str]) -> None:
    assert_same(outcome(parse_lines, lines), outcome(reference_lines, lines))


@PROPERTY
@given(lines_st, st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\u2028"]), st.booleans(), st.booleans())
def test_read_columns_equals_reference(lines: list[str], sep: str, trailing: bool, zipped: bool) -> None:
    raw = (sep.join(lines) + ("\n" if trailing else "")).encode("utf-8", "surrogatepass")
    data = gzip.compress(raw, mtime=0) if zipped else raw
    assert_same(outcome(read_columns, data), outcome(lambda d: reference_lines(daily_text_lines(d)[1]), data))


@PROPERTY
@given(st.lists(records().filter(lambda r: isinstance(r, dict)).map(line_text), max_size=8))
def test_written_files_equal_reference(lines: list[str]) -> None:
    data = daily_file_bytes(lines)
    assert_same(outcome(read_columns, data), outcome(lambda d: reference_lines(daily_text_lines(d)[1]), data))


@pytest.mark.parametrize(
    "text",
    [
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","power_w":NaN}',  # json takes NaN, msgspec not
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","power_w":1e400}',
        '{"device_id":"\\ud800","ts":"2026-11-27T10:00:00.000Z"}',  # a lone surrogate
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","channel":1,"channel":null}',  # the last key wins
        '{"device\\u005fid":"a","ts":"2026-11-27T10:00:00.000Z"}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z"} {"device_id":"b","ts":"2026-11-27T10:00:00.000Z"}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z"},{"device_id":"b","ts":"2026-11-27T10:00:00.000Z"}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","channel":99999999999999999999999}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","received_ms":1.5,"channel":"2","online":0}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","power_w":"12.5","voltage_v":true}',
        '{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","power_w":[1]}',
        '{"device_id":"a"}',
        "",
    ],
)
def test_odd_lines_equal_reference(text: str) -> None:
    zipped = gzip.compress((text + "\n").encode(), mtime=0)
    variants = (
        text.encode(),
        (text + "\n" + text + "\n").encode(),
        zipped,
        zipped + zipped,  # two gzip members
        zipped[:-6],  # truncated
        zipped + b"\0\0",  # trailing bytes
        zipped[:12] + bytes([zipped[12] ^ 0xFF]) + zipped[13:],  # damaged
    )
    for data in variants:
        assert_same(outcome(read_columns, data), outcome(lambda d: reference_lines(daily_text_lines(d)[1]), data))


def test_nan_default_and_explicit_null_are_both_nan() -> None:
    data = (
        b'{"device_id":"a","ts":"2026-11-27T10:00:00.000Z","power_w":null}\n'
        b'{"device_id":"a","ts":"2026-11-27T10:00:01.000Z"}\n'
    )
    cols = read_columns(data)
    assert all(math.isnan(v) for v in cols.power_w)
    assert cols.channel.tolist() == [-1, -1] and cols.online.tolist() == [-1, -1]


def test_the_writers_files_take_the_msgspec_path(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        '{"channel":0,"device_id":"d","energy_total_wh":12.5,"generation":"gen2","power_w":230.25,'
        '"received_ms":1764237600123,"ts":"2026-11-27T10:00:00.123Z"}',
        '{"device_id":"d","generation":"gen1","online":false,"received_ms":1,"ts":"2026-11-27T10:00:01.000Z"}',
    ]
    data = daily_file_bytes(lines)
    want = reference_lines(lines)

    def no_fallback(_: object) -> None:
        raise AssertionError("fell back to the general path")

    monkeypatch.setattr("wattline.formats.columns.parse_lines", no_fallback)
    assert_same(outcome(read_columns, data), ("ok", want))


@PROPERTY
@given(st.lists(st.sampled_from(["b", "a", "shellyproem50-08f9e0e67204", "", "a\0", "é", "A"]), max_size=30))
def test_devices_equal_numpy_unique(ids: list[str]) -> None:
    cols = ReadingColumns.from_arrays({"device_id": ids})
    names, index = cols.devices
    want_names, want_index = np.unique(cols.device_id, return_inverse=True)
    assert names.dtype == want_names.dtype and names.tolist() == want_names.tolist()
    assert index.dtype == np.int64 and index.tolist() == want_index.ravel().tolist()
