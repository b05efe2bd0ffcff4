"""The formats' one writer and the bulk framing agree with plain references: `json.dumps` of the Reading for the
daily line, `datetime` for the time text, the standard JSON decoder for envelope and capture lines."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.formats.frames import decode_captures, envelope_fields
from wattline.formats.readings import reading_line, ts_text
from wattline.models import Generation, Reading, format_ts
from wattline.parsing._common import ts_from_seconds, ts_from_us

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW_MS = 4_102_444_800_000


def plain_json_line(reading: Reading) -> str:
    """What the daily line is defined as: the Reading's JSON, nulls out, keys sorted, ts as `format_ts`."""
    data = reading.model_dump(mode="json", exclude_none=True)
    data["ts"] = format_ts(reading.ts)
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


quantities = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e-05, 2.5e-07, 1e16, -0.0, 0.1])
readings = st.builds(
    Reading,
    device_id=st.sampled_from(["shellyem-B8D6E3", "a", "x_y.z-1", "shellyproem50-08f9e0e67204"]),
    channel=st.none() | st.integers(min_value=0, max_value=99),
    ts=st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    received_ms=st.integers(min_value=0, max_value=NOW_MS),
    generation=st.sampled_from(list(Generation)),
    power_w=st.none() | quantities,
    voltage_v=st.none() | quantities,
    energy_total_wh=st.none() | quantities,
    online=st.none() | st.booleans(),
    relay=st.none() | st.sampled_from(["on", "off", "overpower"]),
)


@PROPERTY
@given(reading=readings)
def test_a_readings_daily_line_is_its_plain_json(reading: Reading) -> None:
    # Given any reading (floats tiny and huge, device state, no channel)
    # When its line is written by the one writer
    # Then it is the plain JSON of the reading
    assert reading.to_json_line() == plain_json_line(reading)


def test_the_writer_takes_values_in_any_order() -> None:
    # Given the same values given in two orders
    args: tuple[Any, ...] = ("a", 0, "2026-11-27T10:00:00.123Z", 5, "gen2")
    # When each is written
    one = reading_line(*args, {"power_w": 1.5, "voltage_v": 230.0})
    other = reading_line(*args, {"voltage_v": 230.0, "power_w": 1.5})
    # Then the lines are the same (keys sorted)
    assert one == other == json.dumps(json.loads(one), separators=(",", ":"), sort_keys=True)


@PROPERTY
@given(seconds=st.floats(min_value=1_420_070_400, max_value=4_102_444_800))
def test_a_device_time_becomes_the_microseconds_and_text_datetime_gives(seconds: float) -> None:
    # Given a Gen2 device time (`params.ts`) as `datetime.fromtimestamp` reads it
    expected = datetime.fromtimestamp(seconds, tz=UTC)
    # When the parser turns it into microseconds, and the writer into text
    us, _ms = ts_from_seconds(seconds, NOW_MS)
    # Then both are datetime's own
    assert ts_from_us(us) == expected
    assert ts_text(us) == format_ts(expected)


def plain_envelope(line: bytes) -> tuple[str, int, Any, str | None] | None:
    """The envelope rule with the standard JSON decoder: an object, a string topic, an integer received_ms (or a
    float with an integer value), exactly one of payload and a string payload_b64."""
    try:
        value = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    topic, received_ms = value.get("topic"), value.get("received_ms")
    payload, payload_b64 = value.get("payload"), value.get("payload_b64")
    if isinstance(received_ms, float) and received_ms.is_integer():
        received_ms = int(received_ms)
    if not isinstance(topic, str) or type(received_ms) is not int:
        return None
    if (payload is None) == (payload_b64 is None) or (payload_b64 is not None and not isinstance(payload_b64, str)):
        return None
    return topic, received_ms, payload, payload_b64


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "topic": st.sampled_from(["shellies/em-1/emeter/0/power", "d/events/rpc", ""]) | json_values,
        "received_ms": st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.sampled_from([1.0e12, "1", True]),
        "payload": json_values,
        "payload_b64": st.sampled_from([base64.b64encode(b"611.53").decode(), "not base64"]) | json_values,
        "extra": json_values,
    },
)


@PROPERTY
@given(envelope=envelopes, spaced=st.booleans(), suffix=st.sampled_from([b"", b" ", b"\r", b"x", b"}", b"\xff"]))
def test_envelope_framing_accepts_and_decodes_what_the_plain_rule_does(
    envelope: dict[str, Any], spaced: bool, suffix: bytes
) -> None:
    # Given an envelope-shaped line (any keys, types, NaN, huge integers, stray bytes after it)
    line = json.dumps(envelope, separators=(", ", ": ") if spaced else (",", ":")).encode() + suffix
    # When it is framed by the bulk decoder
    fields = envelope_fields(line)
    # Then it is accepted exactly when the plain rule accepts it, with the same values
    expected = plain_envelope(line)
    got = None if fields is None else (fields.topic, fields.received_ms, fields.payload, fields.payload_b64)
    assert repr(got) == repr(expected)


@PROPERTY
@given(
    topic=st.text(max_size=5) | json_values,
    payload=st.text(max_size=5) | json_values,
    received_at=st.floats() | st.integers(min_value=-(2**70), max_value=2**70) | st.sampled_from(["1", True, None]),
)
def test_a_capture_line_decodes_only_with_a_text_topic_text_payload_and_a_number(
    topic: Any, payload: Any, received_at: Any
) -> None:
    # Given a capture-shaped line with any types
    line = json.dumps({"topic": topic, "payload": payload, "received_at": received_at}).encode()
    # When the bulk decoder reads it
    (capture,) = decode_captures([line])
    # Then it takes it only with the expected types and finite values, as the plain decoder reads them
    plain = json.loads(line)
    number = type(plain["received_at"]) in (int, float)
    expected = isinstance(topic, str) and isinstance(payload, str) and number
    if capture is None:
        assert not expected or not abs(float(plain["received_at"])) < float("inf")
    else:
        assert expected
        assert (capture.topic, capture.payload, capture.received_at) == (topic, payload, float(received_at))
