"""The canonical reading line: one reading of a daily file, `{"channel":0,"device_id":"…",…,"ts":"…Z"}`.

Keys sorted, no spaces, `null`s left out, `ts` as `2026-11-27T10:00:00.123Z` (UTC, truncated to the millisecond),
numbers as Python's `repr` (the shortest text that reads back to the same float). This module is the line's only
writer: `Reading.to_json_line`, the aggregator and the tests' file builders all call `reading_line`, so a file
written twice from the same readings is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTES: dict[int, str] = {}  # minute since the epoch → "YYYY-MM-DDTHH:MM:" (a day's file touches ~1,440)
_MINUTES_MAX: Final = 100_000
_json_str = json.encoder.encode_basestring_ascii  # what json.dumps does to a str (ensure_ascii)
_TEMPLATES: dict[tuple[bool, str, tuple[str, ...]], str] = {}


def ts_text(us: int) -> str:
    """The line's text of a time in microseconds since the epoch (`format_ts`, truncated to the millisecond)."""
    seconds, micros = divmod(us, 1_000_000)
    minute, second = divmod(seconds, 60)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        moment = _EPOCH + timedelta(minutes=minute)
        prefix = _MINUTES[minute] = moment.strftime("%Y-%m-%dT%H:%M:")
    return f"{prefix}{second:02d}.{micros // 1000:03d}Z"


def reading_line(
    device_id: str,
    channel: int | None,
    ts: str,
    received_ms: int,
    generation: str,
    values: Mapping[str, Any],
) -> str:
    """The JSON line of one reading; `ts` is `ts_text` of its time, `values` its non-null quantities (and
    `online` / `relay`). Readings whose values are all floats (nearly all) are formatted from a template made once
    per (channel or none, generation, value names); anything else goes through the JSON encoder."""
    names = tuple(values)
    key = (channel is None, generation, names)
    template = _TEMPLATES.get(key)
    if template is None:
        if any(value.__class__ is not float for value in values.values()):
            return _encoded(device_id, channel, ts, received_ms, generation, values)
        template = _TEMPLATES[key] = _template(channel is None, generation, names)
    elif any(value.__class__ is not float for value in values.values()):
        return _encoded(device_id, channel, ts, received_ms, generation, values)
    return template.format(channel, _json_str(device_id), received_ms, ts, *values.values())


def _template(no_channel: bool, generation: str, names: tuple[str, ...]) -> str:
    """`str.format` template: {0} channel, {1} device id (JSON), {2} received_ms, {3} ts text, {4}… the values in
    `names` order (finite floats, whose `str` is their JSON)."""
    slots = {"device_id": "{1}", "generation": _json_str(generation), "received_ms": "{2}", "ts": '"{3}"'}
    if not no_channel:
        slots["channel"] = "{0}"
    slots |= {name: f"{{{index + 4}}}" for index, name in enumerate(names)}
    body = ",".join(f'"{name}":{slots[name]}' for name in sorted(slots))
    return "{{" + body + "}}"


def _encoded(
    device_id: str, channel: int | None, ts: str, received_ms: int, generation: str, values: Mapping[str, Any]
) -> str:
    data: dict[str, Any] = {"device_id": device_id, "ts": ts, "received_ms": received_ms, "generation": generation}
    if channel is not None:
        data["channel"] = channel
    data.update((name, value) for name, value in values.items() if value is not None)
    return json.dumps(data, separators=(",", ":"), sort_keys=True)
