"""`line_times_ms` (each JSONL line's time without parsing JSON, as the loader's neighbour files need it) gives what
the regex over the whole text gave before it read the lines' ends: the same times, the same None, the same errors."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from wattline.formats.columns import _iso_ms, line_times_ms, read_jsonl
from wattline.formats.readings import reading_lines, ts_text

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TS = re.compile(rb'"ts":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z"')


def reference_times(raw: bytes, n: int) -> NDArray[np.int64] | None:
    """The loader's line times before `line_times_ms` (wattline 2026-12, `_NeighbourFile`), verbatim."""
    stamps = _TS.findall(raw)
    if len(stamps) != n:
        return None
    return np.array(stamps, dtype="datetime64[ms]").astype(np.int64)


def line_bounds(raw: bytes) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Line starts and ends as `_NeighbourFile` finds them."""
    ends = np.flatnonzero(np.frombuffer(raw, np.uint8) == ord("\n"))
    if not raw.endswith(b"\n"):
        ends = np.append(ends, len(raw))
    return np.concatenate(([0], ends[:-1] + 1)).astype(np.intp), ends.astype(np.intp)


def outcome(read: Any) -> tuple[str, Any]:
    try:
        found = read()
    except Exception as exc:  # the outcome compared is any exception: its type and message
        return type(exc).__name__, str(exc)
    return "ok", None if found is None else found.tolist()


def times_of(raw: bytes) -> tuple[tuple[str, Any], tuple[str, Any]]:
    starts, ends = line_bounds(raw)
    return outcome(lambda: line_times_ms(raw, starts, ends)), outcome(lambda: reference_times(raw, len(ends)))


# A time as the writer writes it (a year before 1000 has fewer digits: no longer the daily line's form), or one with
# a digit, a mark or the length changed (valid or not).
_US = datetime.resolution
WRITTEN_TS = st.datetimes(timezones=st.just(UTC)).map(lambda d: ts_text((d - datetime(1970, 1, 1, tzinfo=UTC)) // _US))
FOUR_DIGIT_YEARS = WRITTEN_TS.filter(lambda t: len(t) == 24)
ODD_TS = st.sampled_from(
    [
        "2026-02-29T00:00:00.000Z",
        "2024-02-29T23:59:59.999Z",
        "2026-04-31T00:00:00.000Z",
        "2026-13-01T00:00:00.000Z",
        "2026-00-10T00:00:00.000Z",
        "2026-11-00T00:00:00.000Z",
        "2026-11-21T24:00:00.000Z",
        "2026-11-21T23:60:00.000Z",
        "2026-11-21T23:59:60.000Z",
        "0000-01-01T00:00:00.000Z",
        "1600-02-29T12:00:00.000Z",
        "2026-11-21T10:00:00.12Z",
        "2026-11-21T10:00:00.1234Z",
        "2026-11-21 10:00:00.123Z",
        "2026-11-21T10:00:00.123+00:00",
        "2026-11-21T1a:00:00.123Z",
        "+026-11-21T10:00:00.123Z",
    ]
)


@st.composite
def written_lines(draw: st.DrawFn) -> str:
    """A daily line as the writer writes it: `ts` last, unless `voltage_v` follows it."""
    values: dict[str, Any] = {"power_w": draw(st.floats(-1e4, 1e4))}
    if draw(st.booleans()):
        values["voltage_v"] = draw(st.floats(0, 300))
    ts = draw(WRITTEN_TS | ODD_TS)
    return reading_lines(
        ["shellyproem50-08f9e0e67204"], [draw(st.sampled_from([0, 1, None]))], [ts], [1], ["gen2"], [values]
    )[0]


ODD_LINES = st.sampled_from(
    ["", "{}", '{"ts":"2026-11-21T10:00:00.000Z"}', '"ts":"2026-11-21T10:00:00.000Z"}', "x" * 40]
)


@PROPERTY
@given(st.lists(written_lines(), min_size=1, max_size=6))
def test_the_writers_lines_give_the_regexs_times(lines: list[str]) -> None:
    raw = ("\n".join(lines) + "\n").encode()
    new, old = times_of(raw)
    assert new == old


@PROPERTY
@given(
    st.lists(written_lines() | ODD_LINES, min_size=1, max_size=6),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_odd_lines_and_line_breaks_give_the_regexs_times(lines: list[str], sep: str, trailing: bool) -> None:
    raw = (sep.join(lines) + (sep if trailing else "")).encode()
    new, old = times_of(raw)
    assert new == old


def test_a_second_ts_key_gives_the_last_which_the_reader_decodes() -> None:
    # Given lines each holding two "ts" keys, the second at the end (the regex found two times per line: None)
    lines = [
        json.dumps({"device_id": "d", "ts": f"2026-11-21T10:00:0{i}.000Z"}, separators=(",", ":"))[:-1]
        + f',"ts":"2026-11-21T11:00:0{i}.000Z"}}'
        for i in range(3)
    ]
    raw = ("\n".join(lines) + "\n").encode()
    starts, ends = line_bounds(raw)
    # When their times are read
    found = line_times_ms(raw, starts, ends)
    # Then each is the last, as the reader decodes it (the last key wins)
    assert reference_times(raw, len(ends)) is None
    assert found is not None
    assert found.tolist() == (read_jsonl(raw).ts_us // 1000).tolist()


def iso_chars(texts: list[str]) -> NDArray[np.uint8]:
    """The texts (without their "Z") as `_iso_ms` takes them: one row per character."""
    matrix = np.frombuffer("".join(t.removesuffix("Z") for t in texts).encode(), np.uint8).reshape(len(texts), -1)
    return np.ascontiguousarray(matrix.T)


@PROPERTY
@given(st.lists(WRITTEN_TS | ODD_TS, min_size=1, max_size=8))
def test_iso_ms_is_numpys_reading_or_none(texts: list[str]) -> None:
    stamps = [t.removesuffix("Z") for t in texts]
    if {len(t) for t in stamps} != {23}:
        return
    found = _iso_ms(iso_chars(texts))
    if found is not None:
        assert found.tolist() == np.array(stamps, dtype="datetime64[ms]").astype(np.int64).tolist()


@PROPERTY
@given(st.lists(FOUR_DIGIT_YEARS, min_size=1, max_size=8))
def test_iso_ms_reads_every_time_the_writer_writes(texts: list[str]) -> None:
    found = _iso_ms(iso_chars(texts))
    assert found is not None
    assert found.tolist() == np.array([t[:-1] for t in texts], dtype="datetime64[ms]").astype(np.int64).tolist()


def test_the_writers_lines_are_read_from_their_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a file as the writer writes it (no voltage_v: `ts` ends every line)
    lines = reading_lines(
        ["d", "d"], [0, 1], ["2026-11-21T10:00:00.010Z", "2026-11-21T10:00:01.020Z"], [1, 2], ["gen2"] * 2,
        [{"power_w": 1.5}, {"power_w": 2.5}],
    )  # fmt: skip
    raw = ("\n".join(lines) + "\n").encode()

    class NoRegex:
        def findall(self, _: bytes) -> list[bytes]:
            raise AssertionError("fell back to the regex")

    monkeypatch.setattr("wattline.formats.columns._TS_ANYWHERE", NoRegex())
    # When its times are read, Then they come from the lines' ends
    found = line_times_ms(raw, *line_bounds(raw))
    assert found is not None and found.tolist() == [1795255200010, 1795255201020]
