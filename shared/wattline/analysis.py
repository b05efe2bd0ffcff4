"""`wattline analyze` as a library: read captures or readings files, compute priced daily energy.

Input lines are either MQTT capture lines `{"topic", "payload", "received_at"}` (parsed exactly as the pipeline
parses envelopes, in receive order, with the Gen2 partial-state overlay) or canonical reading lines (what the daily
files hold). Which lines are accepted is decided by `wattline.parsing.lines`, the rule `wattline import` applies
too. Bad lines are counted and reported with their file name and line number, never fatal; a truncated gzip keeps
the lines before the break and is reported.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattline.daily import daily_energy
from wattline.energy.engine import EnergyColumns
from wattline.inputs import LineReader, text_of
from wattline.models import DailyEnergy, HourlyEnergy, Reading
from wattline.parsing import Row, reading_from_row, row_from_reading
from wattline.parsing.batch import RowColumns, parse_messages
from wattline.parsing.gc import paused_gc
from wattline.parsing.lines import (
    LineError,
    LineProblems,
    capture_message,
    is_capture_record,
    is_reading_record,
    json_object,
    reading_from_record,
    typed_capture_columns,
)
from wattline.settings import IntegrationMethod
from wattline.solar import ChannelRoles, SolarDay, solar_days
from wattline.tariffs import Tariff


@dataclass
class InputStats(LineProblems):
    """What was read: lines by kind, and why the rejected ones were rejected."""

    lines: int = 0
    messages: int = 0
    readings: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)


def read_inputs(
    paths: Iterable[Path], *, stats: InputStats | None = None, now_ms: int | None = None
) -> tuple[list[Reading], InputStats]:
    """Every reading in the files (as Readings: for callers that want the objects; `read_columns` is the bulk
    path). `now_ms` (default: the clock) is the end of the window of accepted times."""
    readings: list[Reading] = []

    def add(rows: RowColumns) -> None:
        readings.extend(reading_from_row(row) for row in rows.rows())

    stats = read_rows(paths, add, stats=stats, now_ms=now_ms)
    stats.readings = len(readings)
    return readings, stats


def read_columns(
    paths: Iterable[Path], *, stats: InputStats | None = None, now_ms: int | None = None
) -> tuple[EnergyColumns, InputStats]:
    """Every reading in the files, straight into the energy engine's columns (no Reading objects)."""
    columns = EnergyColumns()
    counted = 0

    def add(rows: RowColumns) -> None:
        nonlocal counted
        counted += len(rows)
        columns.add_columns(rows)

    stats = read_rows(paths, add, stats=stats, now_ms=now_ms)
    stats.readings = counted
    return columns, stats


def read_rows(
    paths: Iterable[Path],
    sink: Callable[[RowColumns], None],
    *,
    stats: InputStats | None = None,
    now_ms: int | None = None,
) -> InputStats:
    """Each file's lines as they are read, a block (1 MiB) at a time (bounded memory): the capture lines' messages
    parsed as a batch, a reading line becoming its row; each batch's rows go to `sink`. Parsing needs no order
    (the parsers read no state), so the result is the same whatever the order of the lines."""
    stats = stats or InputStats()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    with paused_gc():
        for path in paths:
            reader = LineReader(path)
            for first, lines in reader.raw_blocks():
                _read_block(first, lines, path.name, stats, now, sink)
            if reader.truncated is not None:
                stats.file_errors.append(reader.truncated)
    return stats


def _read_block(
    first: int, lines: Sequence[bytes], name: str, stats: InputStats, now_ms: int, sink: Callable[[RowColumns], None]
) -> None:
    """One block of lines (`first`: the first one's number): the capture lines that decode with the expected types
    parsed together; every other line, unless blank, read by the general rule, which says why it cannot be used."""
    captures = typed_capture_columns(lines, now_ms=now_ms)
    topics, received, payloads = captures.topics, captures.received_ms, captures.payloads
    other: list[Row] = []
    blank = 0
    for position in captures.refused:
        if not lines[position].strip():
            blank += 1
            continue
        try:
            record = json_object(text_of(lines[position]))
            if is_capture_record(record):
                message = capture_message(record, now_ms=now_ms)
                topics.append(message.topic)
                received.append(message.received_ms)
                payloads.append(message.payload)
            elif is_reading_record(record):
                other.append(row_from_reading(reading_from_record(record, now_ms=now_ms)))
            else:
                raise LineError("neither a capture line (topic, payload, received_at) nor a reading (device_id)")
        except LineError as exc:
            stats.invalid(f"{name}:{first + position}: {exc}")
    stats.lines += len(lines) - blank
    stats.messages += len(topics)
    parsed = parse_messages(topics, received, payloads, [None] * len(topics), now_ms=now_ms)
    for _index, rejected in parsed.quarantined:
        stats.quarantined[rejected.reason.value] += 1
    sink(parsed.rows)
    if other:
        sink(RowColumns.from_rows(other))


@dataclass(frozen=True)
class Analysis:
    """What `wattline analyze` prints: the channel rows and, when channel roles are set, the sites' solar rows."""

    days: list[DailyEnergy]
    solar: list[SolarDay] | None  # None: no roles set (the output is what it was before roles existed)


def analyze_energy(
    columns: EnergyColumns,
    *,
    timezone: str,
    tariff: Tariff,
    method: IntegrationMethod,
    max_gap_s: float,
    max_power_w: float,
    roles: ChannelRoles | None = None,
) -> Analysis:
    """Hourly energy once, then the priced channel days and (with `roles`) the solar days of the same hours."""
    hourly = compute_hourly(columns, timezone=timezone, method=method, max_gap_s=max_gap_s, max_power_w=max_power_w)
    days = daily_energy(hourly, tariff=tariff, timezone=timezone, roles=roles)
    solar = solar_days(hourly, roles, tariff=tariff, timezone=timezone) if roles else None
    return Analysis(days, solar)


def compute_hourly(
    columns: EnergyColumns, *, timezone: str, method: IntegrationMethod, max_gap_s: float, max_power_w: float
) -> list[HourlyEnergy]:
    """The hourly energy `analyze` prices (also what `wattline whatif` compares tariffs on)."""
    result = columns.compute(tz=timezone, method=method, max_gap_s=max_gap_s, max_power_w=max_power_w)
    return result.hourly


def analyze_readings(readings: Iterable[Reading], **options: Any) -> list[DailyEnergy]:
    """The channel rows of `analyze_energy` for Reading objects (the options are its keywords)."""
    columns = EnergyColumns()
    for reading in readings:
        columns.add_reading(reading)
    return analyze_energy(columns, **options).days
