"""The daily file's lines from columns (`aggregation.day.daily_lines`) against the rule written plainly: sort by
(ts, channel — none first —, received_ms, position), keep the first of readings equal in everything but
received_ms, write each with `reading_line`."""

from __future__ import annotations

import gzip
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.aggregation.day import _ts_texts, daily_lines
from wattline.formats.readings import daily_file_bytes, daily_text_bytes, reading_line, ts_text
from wattline.models import Generation
from wattline.parsing import Row
from wattline.parsing.batch import QUANTITIES, RowColumns

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0_US = 1_795_219_200_000_000


def reference_lines(rows: list[Row]) -> list[str]:
    order = sorted(
        range(len(rows)), key=lambda i: (rows[i][2], -1 if rows[i][1] is None else rows[i][1], rows[i][3], i)
    )
    kept: list[Row] = []
    for index in order:
        row = rows[index]
        same = [k for k in kept if (k[2], k[1]) == (row[2], row[1])]
        if any(k[0] == row[0] and k[4] == row[4] and k[5] == row[5] for k in same):
            continue
        kept.append(row)
    return [reading_line(r[0], r[1], ts_text(r[2]), r[3], r[4].value, r[5]) for r in kept]


values = st.dictionaries(
    st.sampled_from(QUANTITIES), st.sampled_from([0.0, -0.0, 1.5, 230.1, 1e-7, 123456.789, 1e12]), min_size=1
)
meter_rows = st.tuples(
    st.sampled_from(["shellyem-A1", "shellyproem50-b2"]),
    st.sampled_from([0, 1, 2]),
    st.sampled_from([T0_US, T0_US + 1_000, T0_US + 1_999, T0_US + 60_000_000]),
    st.sampled_from([1_795_219_200_000, 1_795_219_200_005]),
    st.sampled_from([Generation.GEN1, Generation.GEN2]),
    values,
)
state_rows = st.tuples(
    st.sampled_from(["shellyem-A1"]),
    st.none(),
    st.sampled_from([T0_US, T0_US + 1_000]),
    st.sampled_from([1_795_219_200_000, 1_795_219_200_005]),
    st.sampled_from([Generation.GEN1, Generation.GEN2]),
    st.one_of(
        st.builds(lambda b: {"online": b}, st.booleans()),
        st.builds(lambda r: {"relay": r}, st.sampled_from(["on", "off", "50%s%%"])),  # (a `%` in a line written whole)
    ),
)


@PROPERTY
@given(rows=st.lists(st.one_of(meter_rows, state_rows), max_size=30))
def test_the_daily_lines_are_the_plain_rule_s(rows: list[Any]) -> None:
    # Given rows with repeated times and channels, redeliveries, both generations and device-level state
    # When the daily lines are written from columns / Then they are the plainly sorted, deduplicated lines
    lines = daily_lines(RowColumns.from_rows(rows, list(range(len(rows)))), with_times=True)
    expected = reference_lines(rows)
    assert lines.lines == expected
    assert lines.line_count == len(expected)
    assert all(piece.endswith("\n") for piece in lines.pieces)
    assert lines.first_ts == (lines.times[0] if expected else None)
    assert lines.last_ts == (lines.times[-1] if expected else None)
    assert lines.times == [line.split('"ts":"')[1][:24] for line in expected]


@PROPERTY
@given(
    times=st.lists(
        st.integers(min_value=T0_US - 2 * 86_400_000_000, max_value=T0_US + 400 * 86_400_000_000)
        | st.integers(min_value=T0_US, max_value=T0_US + 3_000_000),
        max_size=30,
    ).map(sorted)
)
def test_the_time_texts_of_many_rows_are_each_rows_ts_text(times: list[int]) -> None:
    # Given rows' times in microseconds, close (equal, a millisecond apart) and far (other minutes, days, years)
    # When their texts are made at once
    # Then each is `ts_text` of its time
    assert _ts_texts(np.array(times, np.int64)).tolist() == [ts_text(us) for us in times]


@pytest.mark.parametrize("count", [1, 8192, 8192 * 2 + 5])
def test_a_day_of_one_shape_is_written_in_pieces_whose_gzip_is_the_plain_lines(count: int) -> None:
    # Given a day of one shape, up to pieces of 8192 lines and a part-piece
    rows = [
        ("shellyproem50-b2", i % 2, T0_US + i * 500_000, 1_795_219_200_000 + i, Generation.GEN2, {"power_w": i / 10})
        for i in range(count)
    ]
    # When its lines are written from columns
    lines = daily_lines(RowColumns.from_rows(rows, list(range(count))))
    # Then the pieces hold the plain lines, and the file is gzip of their text as `gzip.compress` writes it
    expected = reference_lines(rows)
    assert [len(piece.split("\n")) - 1 for piece in lines.pieces] == [
        min(8192, count - start) for start in range(0, count, 8192)
    ]
    assert "".join(lines.pieces) == "".join(line + "\n" for line in expected)
    text = "".join(line + "\n" for line in expected).encode()
    assert daily_text_bytes(lines.pieces) == daily_file_bytes(expected) == gzip.compress(text, 6, mtime=0)
