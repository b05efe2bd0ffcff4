"""Capture lines made of the real MQTT messages of tests/fixtures/shelly-payloads.json, and the bad lines that
`wattline import` and `wattline analyze` must count, report with file and line number, and step over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shelly-payloads.json"
START_S = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
"""The captures' first receive time: a UTC day closed long before the tests' `now`."""
NOW_MS = int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp() * 1000)
"""The `now` of the readers in these tests (accepted receive times end one day after it)."""


def real_messages() -> list[tuple[str, str]]:
    """(topic, payload text as published) of every real MQTT message of the fixture that gives readings: the Gen1
    emeter and relay topics (p045-p080) and the Gen2 `status/em1:<n>` topics (p081, p082)."""
    records = json.loads(FIXTURE.read_text(encoding="utf-8"))["records"]
    wanted = {"mqtt_gen1", "mqtt_gen2_status_topic"}
    return [(record["topic"], record["raw_text"]) for record in records if record["category"] in wanted]


def capture_line(topic: Any, payload: Any, received_at: Any, **extra: Any) -> str:
    return json.dumps({"topic": topic, "payload": payload, "received_at": received_at, **extra})


def real_capture_lines(start_s: float = START_S, step_s: float = 30.0) -> list[str]:
    """One capture line per real message, `step_s` apart from `start_s`."""
    return [capture_line(topic, payload, start_s + i * step_s) for i, (topic, payload) in enumerate(real_messages())]


def with_line(lines: list[str], number: int, bad: str) -> str:
    """The capture text with `bad` as line `number` (from 1), the good lines around it."""
    return "\n".join([*lines[: number - 1], bad, *lines[number - 1 :]]) + "\n"


DEEP = "[" * 1000 + "]" * 1000
GEN1_TOPIC = "shellies/shellyem-123456789012/emeter/0/power"

BAD_CAPTURE_LINES: dict[str, tuple[str, str]] = {
    # what: (the line, a piece of the reason reported)
    "a receive time in year 1": (capture_line(GEN1_TOPIC, "1.0", -62135596800), "before 2015-01-01"),
    "a receive time in year 33658": (capture_line(GEN1_TOPIC, "1.0", 1e12), "more than one day after now"),
    "a receive time of 1e308": (capture_line(GEN1_TOPIC, "1.0", 1e308), "more than one day after now"),
    "an integer receive time too large for a float": (capture_line(GEN1_TOPIC, "1.0", 10**400), "not a finite"),
    "a string receive time": (capture_line(GEN1_TOPIC, "1.0", "1795132800"), "received_at must be Unix seconds"),
    "a boolean receive time": (capture_line(GEN1_TOPIC, "1.0", True), "received_at must be Unix seconds"),
    "a numeric payload": (capture_line(GEN1_TOPIC, 611.53, START_S), "payload must be the published text"),
    "a JSON object payload": (capture_line(GEN1_TOPIC, {"a": 1}, START_S), "payload must be the published text"),
    "a topic that is not a string": (capture_line(7, "1.0", START_S), "topic must be a non-empty string"),
    "an empty topic": (capture_line("", "1.0", START_S), "topic must be a non-empty string"),
    "a value nested 1000 deep": (
        '{"topic":"' + GEN1_TOPIC + '","payload":"1.0","received_at":1795132800,"x":' + DEEP + "}",
        "nested deeper than 200 levels",
    ),
    "a line that is not JSON": ("{not json", "not valid JSON"),
    "a JSON array": ("[1, 2]", "not a JSON object"),
}
