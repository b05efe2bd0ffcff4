"""The local runtime's loads take each daily file's columns from the aggregation that wrote it (`Runtime.daily_files`)
instead of parsing the file again, and its aggregations take what validating their raw objects parsed
(`Runtime.validated_objects`); what a run writes is the same, byte for byte, as a run that parses everything."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from wattline import loader
from wattline.aggregation import day as day_module
from wattline.formats.columns import ReadingColumns
from wattline.importers import import_text
from wattline.local import runtime as runtime_module
from wattline.local.runtime import Runtime, simulated_now
from wattline.simulator import simulate

START = datetime(2026, 11, 19, 22, tzinfo=UTC)
END = datetime(2026, 11, 21, 22, tzinfo=UTC)


def run_home(
    home: Path, capture: str, *, room: int, validated_room: int = runtime_module.VALIDATED_BYTES
) -> tuple[dict[str, Any], int, int]:
    """Import the capture into a fresh home and run everything pending, with `room` bytes for the columns the
    aggregations hand over and `validated_room` for what the validations parsed: what the run left (every daily
    object, the energy rows but when they were loaded), how many daily files the loads parsed whole and how many
    messages the aggregations parsed."""
    parses: list[bytes] = []
    parse = loader.read_columns
    messages_parsed: list[int] = []
    parse_messages = day_module.parse_messages

    def counted(data: bytes) -> ReadingColumns:
        parses.append(data)
        return parse(data)

    def counted_messages(topics: Any, *args: Any, **options: Any) -> Any:
        messages_parsed.append(len(topics))
        return parse_messages(topics, *args, **options)

    now = simulated_now(END)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "read_columns", counted)
        patch.setattr(day_module, "parse_messages", counted_messages)
        patch.setattr(runtime_module, "HANDED_OVER_BYTES", room)
        patch.setattr(runtime_module, "VALIDATED_BYTES", validated_room)
        runtime = Runtime(home, clock=lambda: now)
        try:
            import_text(capture, runtime.s3, now_ms=int(now.timestamp() * 1000))
            runtime.schedule()
            runtime.run()
            assert runtime.queue.dead() == []
            energy = runtime.warehouse.query(
                "SELECT * EXCEPT (loaded_at) FROM `{{project}}.{{dataset}}.energy_hourly` "
                "ORDER BY device_id, channel, hour_start",
                {},
            )
        finally:
            runtime.close()
    daily = {
        path.relative_to(home).as_posix(): path.read_bytes()
        for path in sorted((home / "gcs").rglob("*"))
        if path.is_file()
    }
    return {"daily": daily, "energy": energy}, len(parses), sum(messages_parsed)


def test_a_run_taking_the_aggregated_columns_writes_what_a_run_parsing_every_file_writes(tmp_path: Path) -> None:
    # Given two local days of two simulated meters (with their faults) as a capture: three UTC days each
    scenario = simulate(devices=2, days=2, seed=5, start=START, timezone="Europe/Kyiv")
    capture = "".join(line + "\n" for line in scenario.capture_lines())
    # When one home is run as it is, and another with no room for the columns the aggregations hand over
    handed, handed_parses, _ = run_home(tmp_path / "handed", capture, room=runtime_module.HANDED_OVER_BYTES)
    parsed, parsed_parses, _ = run_home(tmp_path / "parsed", capture, room=0)
    # Then both wrote the same daily objects and energy rows, and only the second parsed the six files it loaded
    assert len(handed["daily"]) == 12 and handed["energy"]
    assert handed == parsed
    assert (handed_parses, parsed_parses) == (0, 6)


def test_a_run_taking_what_the_validations_parsed_writes_what_a_run_parsing_every_object_writes(
    tmp_path: Path,
) -> None:
    # Given the same capture (duplicates, late messages, an outage)
    scenario = simulate(devices=2, days=2, seed=5, start=START, timezone="Europe/Kyiv")
    capture = "".join(line + "\n" for line in scenario.capture_lines())
    # When one home is run as it is, and another with no room for what the validations parsed
    taking, _, taking_parsed = run_home(tmp_path / "taking", capture, room=0)
    parsing, _, parsing_parsed = run_home(tmp_path / "parsing", capture, room=0, validated_room=0)
    # Then both wrote the same, and only the second's aggregations parsed the messages again
    assert taking == parsing
    assert taking_parsed == 0 and parsing_parsed > 10_000
