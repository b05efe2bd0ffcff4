"""`wattline analyze` as a library: read captures or readings files, compute priced daily energy.

Input lines are either MQTT capture lines `{"topic", "payload", "received_at"}` (parsed exactly as the pipeline
parses envelopes, in receive order, with the Gen2 partial-state overlay) or canonical reading lines (what the daily
files hold). Bad lines are counted, never fatal.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from wattline.daily import daily_energy
from wattline.energy import compute_hourly
from wattline.models import DailyEnergy, Reading
from wattline.parsing import Gen2State, envelope_from_capture, parse_envelope
from wattline.settings import IntegrationMethod
from wattline.tariffs import Tariff

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class InputStats:
    """What was read: lines by kind, and why the rejected ones were rejected."""

    lines: int = 0
    messages: int = 0
    readings: int = 0
    invalid_lines: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    invalid_examples: list[str] = field(default_factory=list)

    def invalid(self, where: str) -> None:
        self.invalid_lines += 1
        if len(self.invalid_examples) < 5:
            self.invalid_examples.append(where)


def open_text(path: Path) -> IO[str]:
    """A capture or readings file, gzip-compressed or not (decided by content, not by name)."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def read_inputs(paths: Iterable[Path], *, stats: InputStats | None = None) -> tuple[list[Reading], InputStats]:
    """Every reading in the files, capture lines parsed in receive order per file."""
    stats = stats or InputStats()
    readings: list[Reading] = []
    for path in paths:
        with open_text(path) as handle:
            captures = []
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                stats.lines += 1
                where = f"{path.name}:{number}"
                record = _json_object(line)
                if record is None:
                    stats.invalid(f"{where}: not a JSON object")
                elif "topic" in record:
                    captures.append((record, where))
                elif "device_id" in record:
                    try:
                        readings.append(Reading.model_validate(record))
                    except ValidationError as exc:
                        stats.invalid(f"{where}: not a valid reading ({exc.error_count()} errors)")
                else:
                    stats.invalid(f"{where}: neither a capture line nor a reading")
            readings.extend(_parse_captures(captures, stats))
    stats.readings = len(readings)
    return readings, stats


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _parse_captures(captures: list[tuple[dict[str, Any], str]], stats: InputStats) -> Iterator[Reading]:
    envelopes = []
    for record, where in captures:
        topic, payload, received_at = record.get("topic"), record.get("payload"), record.get("received_at")
        if not isinstance(topic, str) or not isinstance(payload, str) or not isinstance(received_at, int | float):
            stats.invalid(f"{where}: a capture line needs topic (str), payload (str), received_at (number)")
            continue
        try:
            envelopes.append(envelope_from_capture(topic, payload, float(received_at)))
        except ValueError as exc:
            stats.invalid(f"{where}: {exc}")
    envelopes.sort(key=lambda envelope: envelope.received_ms)  # the Gen2 overlay needs receive order
    state = Gen2State()
    for envelope in envelopes:
        stats.messages += 1
        outcome = parse_envelope(envelope, state=state)
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
