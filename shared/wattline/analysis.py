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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wattline.daily import daily_energy
from wattline.energy import compute_hourly
from wattline.inputs import LineReader
from wattline.models import DailyEnergy, Envelope, Reading
from wattline.parsing import Gen2State, parse_envelope
from wattline.parsing.lines import (
    CaptureMessage,
    LineError,
    LineProblems,
    capture_message,
    is_capture_record,
    is_reading_record,
    json_object,
    reading_from_record,
)
from wattline.settings import IntegrationMethod
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
    """Every reading in the files, capture lines parsed in receive order per file. `now_ms` (default: the clock) is
    the end of the window of accepted times."""
    stats = stats or InputStats()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    readings: list[Reading] = []
    for path in paths:
        reader = LineReader(path)
        captures: list[CaptureMessage] = []
        for number, line in reader:
            if not line.strip():
                continue
            stats.lines += 1
            where = f"{path.name}:{number}"
            try:
                record = json_object(line)
                if is_capture_record(record):
                    captures.append(capture_message(record, now_ms=now))
                elif is_reading_record(record):
                    readings.append(reading_from_record(record, now_ms=now))
                else:
                    raise LineError("neither a capture line (topic, payload, received_at) nor a reading (device_id)")
            except LineError as exc:
                stats.invalid(f"{where}: {exc}")
        if reader.truncated is not None:
            stats.file_errors.append(reader.truncated)
        readings.extend(_parse_captures(captures, stats, now))
    stats.readings = len(readings)
    return readings, stats


def _parse_captures(captures: list[CaptureMessage], stats: InputStats, now_ms: int) -> Iterator[Reading]:
    captures.sort(key=lambda message: message.received_ms)  # the Gen2 overlay needs receive order (stable)
    state = Gen2State()
    for message in captures:
        stats.messages += 1
        envelope = Envelope(topic=message.topic, received_ms=message.received_ms, payload=message.payload)
        outcome = parse_envelope(envelope, now_ms=now_ms, state=state)
        if outcome.quarantined is not None:
            stats.quarantined[outcome.quarantined.reason.value] += 1
        yield from outcome.readings


def analyze_readings(
    readings: Iterable[Reading],
    *,
    timezone: str,
    tariff: Tariff,
    method: IntegrationMethod,
    max_gap_s: float,
    max_power_w: float,
) -> list[DailyEnergy]:
    result = compute_hourly(readings, tz=timezone, method=method, max_gap_s=max_gap_s, max_power_w=max_power_w)
    return daily_energy(result.hourly, tariff=tariff, timezone=timezone)
