"""The columns the aggregator hands over with a daily file (`aggregate_day(hand_over=…)`, `day.daily_columns`) are
exactly what `read_columns` gives for the file's bytes: the same dtypes, values and NaN positions, row for row."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.golden import (
    GOLDEN_DIR,
    NOW_MS,
    late_capture,
    partitions,
    real_envelopes,
    simulated,
    store_batched,
    store_direct,
    store_embedded,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import INVALID_DEVICE_SEGMENT, aggregate_day
from wattline.aggregation.day import daily_columns, daily_lines
from wattline.formats.columns import ReadingColumns, read_columns
from wattline.formats.readings import daily_file_bytes
from wattline.importers import import_file, import_text
from wattline.models import Generation
from wattline.parsing.batch import QUANTITIES, RowColumns

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0_US = 1_795_219_200_000_000


def assert_same_columns(handed: ReadingColumns, read: ReadingColumns) -> None:
    for field in dataclasses.fields(ReadingColumns):
        ours, theirs = getattr(handed, field.name), getattr(read, field.name)
        assert ours.dtype == theirs.dtype, field.name
        assert np.array_equal(ours, theirs, equal_nan=ours.dtype.kind == "f"), field.name
        if ours.dtype.kind == "f":  # the same zeros too (-0.0 is written "-0.0")
            assert np.array_equal(np.signbit(ours), np.signbit(theirs)), field.name


def written_and_handed(rows: RowColumns) -> tuple[bytes, ReadingColumns]:
    lines = daily_lines(rows)
    return daily_file_bytes(lines.lines), daily_columns(rows, lines)


# Gen1 (one quantity a message) and Gen2 (several) shapes, any quantities missing, several channels, device-level
# state, several devices (ids of other lengths), times on and around millisecond edges (and before 1970).
values = st.dictionaries(
    st.sampled_from(QUANTITIES),
    st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -0.0, 230.1, 1e-7]),
    min_size=1,
)
times = st.sampled_from([T0_US, T0_US + 1, T0_US + 999, T0_US + 1_000, T0_US + 1_999, -1, -1_000, -1_001]) | (
    st.integers(min_value=T0_US - 86_400_000_000, max_value=T0_US + 86_400_000_000)
)
devices = st.sampled_from(["shellyem-A1", "shellyproem50-b2", "d"])
generations = st.sampled_from([Generation.GEN1, Generation.GEN2])
received = st.integers(min_value=0, max_value=2**53)
meter_rows = st.tuples(devices, st.integers(min_value=0, max_value=5), times, received, generations, values)
state_rows = st.tuples(
    devices,
    st.none(),
    times,
    received,
    generations,
    st.one_of(
        st.builds(lambda online: {"online": online}, st.booleans()),
        st.builds(lambda relay: {"relay": relay}, st.sampled_from(["on", "off", "overpower"])),
        values,  # a device-level reading of quantities
    ),
)


@PROPERTY
@given(rows=st.lists(st.one_of(meter_rows, state_rows), max_size=40))
def test_the_handed_over_columns_are_what_the_reader_reads_from_the_file(rows: list[Any]) -> None:
    # Given rows of any shape, with redeliveries and times around millisecond edges
    # When their daily file is written and its columns are taken from the rows
    data, handed = written_and_handed(RowColumns.from_rows(rows, list(range(len(rows)))))
    # Then they are the columns read back from the file's bytes
    assert_same_columns(handed, read_columns(data))


def test_an_empty_day_hands_over_the_empty_columns_the_reader_reads() -> None:
    data, handed = written_and_handed(RowColumns.empty())
    assert_same_columns(handed, read_columns(data))


def aggregated_with_hand_over(store: FsObjectStore) -> list[tuple[str, bytes, ReadingColumns]]:
    """`aggregate_day` of every aggregatable partition (as the goldens are made), with what each handed over."""
    handed: list[tuple[str, bytes, ReadingColumns]] = []
    calls: list[tuple[bytes, ReadingColumns]] = []
    for day, device in partitions(store):
        if device == INVALID_DEVICE_SEGMENT or not keys.is_safe_device_id(device):
            continue
        aggregate_day(store, day, device, concurrency=2, hand_over=lambda *call: calls.append(call))
        assert len(calls) == 1
        handed.append((f"dt={day.isoformat()}/device={device}", *calls.pop()))
    return handed


@pytest.mark.parametrize("layout", ["direct", "batched", "embedded", "sim", "sim-merge"])
def test_the_golden_daily_files_are_handed_over_as_the_reader_reads_them(layout: str, tmp_path: Path) -> None:
    # Given the raw objects the golden daily files were aggregated from (for sim-merge: after the simulated day,
    # its first raw objects archived and late messages imported, as `helpers.golden.merge_outputs` does)
    store = FsObjectStore(tmp_path / layout)
    if layout.startswith("sim"):
        scenario = simulated()
        capture = tmp_path / "sim-capture.jsonl"
        capture.write_text("".join(line + "\n" for line in scenario.capture_lines()), encoding="utf-8")
        import_file(capture, store, now_ms=NOW_MS)
        golden = GOLDEN_DIR / layout
        if layout == "sim-merge":
            aggregated_with_hand_over(store)
            for day, device in partitions(store):
                store.delete(min(info.key for info in store.list(keys.raw_prefix(day, device))))
            import_text(late_capture(scenario), store, now_ms=NOW_MS, name="late.jsonl")
    else:
        {"direct": store_direct, "batched": store_batched, "embedded": store_embedded}[layout](store, real_envelopes())
        golden = GOLDEN_DIR / "real" / layout
    # When each partition is aggregated with a hand-over
    handed = aggregated_with_hand_over(store)
    # Then each hands over its golden file's bytes and exactly the columns read from them
    assert handed
    for where, data, columns in handed:
        assert data == (golden / where / "readings.jsonl.gz").read_bytes(), where
        assert_same_columns(columns, read_columns(data))


def test_a_hand_over_changes_nothing_the_aggregation_writes() -> None:
    # Given one device-day's raw object in two stores
    day, device = date(2026, 11, 20), "shellyem-A1"
    key = keys.raw_key(day, device, 1_763_596_800_000, "00000000-0000-4000-8000-000000000000")
    line = b'{"topic":"shellies/shellyem-A1/emeter/0/power","received_ms":1763596800000,"payload_b64":"MTAw"}'
    plain, handing = MemoryObjectStore(), MemoryObjectStore()
    for store in (plain, handing):
        store.put(key, line)
    # When it is aggregated once without and once with a hand-over
    calls: list[tuple[bytes, ReadingColumns]] = []
    first = aggregate_day(plain, day, device)
    second = aggregate_day(handing, day, device, hand_over=lambda *call: calls.append(call))
    # Then both write the same objects and results, and the hand-over got the written file
    assert first == second
    assert {k: plain.get(k) for k in plain.list_keys("")} == {k: handing.get(k) for k in handing.list_keys("")}
    assert [data for data, _columns in calls] == [plain.get(keys.daily_readings_key(day, device))]
