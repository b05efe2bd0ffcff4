"""Property tests: whatever arrives, the parser returns readings or exactly one quarantine record, never raises."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Envelope, ParseOutcome, Reading
from wattline.parsing import Gen2State, limits, parse_envelope, parse_line, parse_object

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOPICS = [
    "shellies/shellyem-1/emeter/0/power",
    "shellies/shellyem-1/emeter/1/total",
    "shellies/shellyem3-1/emeter/2/current",
    "shellies/shellyem-1/emeter/0/energy",
    "shellies/shellyem-1/online",
    "shellies/shellyem-1/relay/0",
    "shellies/shellyem-1/status",
    "shellyproem50-1/events/rpc",
    "shellyproem50-1/status/em1:0",
    "shellypro3em-1/status/em:0",
    "shellypro3em-1/status/emdata:0",
    "shellyproem50-1/online",
    "client-1/rpc",
    "shellies/../online",
    "unknown/topic",
]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
meter_fields = st.sampled_from(
    [
        "act_power",
        "aprt_power",
        "voltage",
        "current",
        "pf",
        "freq",
        "total_act_energy",
        "total_act_ret_energy",
        "a_act_power",
        "b_voltage",
        "c_pf",
        "a_total_act_energy",
        "total_act_power",
        "id",
        "errors",
    ]
)
meter_values = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=5)
components = st.dictionaries(
    st.sampled_from(["em1:0", "em1:1", "em1data:0", "em:0", "emdata:0", "switch:0", "sys", "em1:x"]),
    st.dictionaries(meter_fields, meter_values, max_size=6) | json_scalars,
    max_size=4,
)


def assert_exactly_one(outcome: ParseOutcome) -> None:
    assert bool(outcome.readings) != (outcome.quarantined is not None)
    if outcome.quarantined is not None:
        assert outcome.quarantined.reason.value != "parser_error", outcome.quarantined.detail  # no hidden bug
        json.loads(outcome.quarantined.to_json_line())
        base64.b64decode(outcome.quarantined.original_b64, validate=True)
    for reading in outcome.readings:
        assert_valid(reading)


def assert_valid(reading: Reading) -> None:
    # A reading built without validation must pass the model's own validation and the documented limits.
    again = Reading.model_validate(reading.model_dump())
    assert again == reading
    for value in (reading.power_w, reading.reactive_power_var, reading.apparent_power_va):
        assert value is None or abs(value) <= limits.MAX_ABS_POWER_W
    assert reading.voltage_v is None or limits.MIN_VOLTAGE_V <= reading.voltage_v <= limits.MAX_VOLTAGE_V
    assert reading.pf is None or -1 <= reading.pf <= 1
    for counter in (reading.energy_total_wh, reading.energy_returned_total_wh):
        assert counter is None or (math.isfinite(counter) and 0 <= counter <= limits.MAX_COUNTER_WH)


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_as_a_line_give_exactly_one_outcome(data: bytes) -> None:
    assert_exactly_one(parse_line(data, now_ms=NOW_MS))


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_as_an_object_give_at_least_one_outcome_each_exactly_one_of(data: bytes) -> None:
    outcomes = parse_object(data, now_ms=NOW_MS)
    assert outcomes
    for outcome in outcomes:
        assert_exactly_one(outcome)


@FUZZ
@given(st.sampled_from(TOPICS) | st.text(max_size=40), json_values)
def test_any_json_value_on_any_topic_gives_exactly_one_outcome(topic: str, payload: Any) -> None:
    if payload is None:
        payload = "null"
    assert_exactly_one(parse_envelope(Envelope(topic=topic, received_ms=RECEIVED_MS, payload=payload), now_ms=NOW_MS))


@FUZZ
@given(st.sampled_from(TOPICS), st.binary(max_size=300))
def test_any_payload_bytes_on_a_known_topic_give_exactly_one_outcome(topic: str, data: bytes) -> None:
    envelope = Envelope(topic=topic, received_ms=RECEIVED_MS, payload_b64=base64.b64encode(data).decode())
    assert_exactly_one(parse_envelope(envelope, now_ms=NOW_MS))


@FUZZ
@given(
    st.sampled_from(["NotifyStatus", "NotifyFullStatus", "NotifyEvent", None]),
    st.none() | st.floats() | st.integers() | st.just(1795780000.5),
    components,
    st.sampled_from(["shellyproem50-1", "../x", None, 5]),
)
def test_any_gen2_notification_gives_exactly_one_outcome(method: Any, ts: Any, comps: Any, src: Any) -> None:
    params = dict(comps) if ts is None else dict(comps, ts=ts)
    frame = {"src": src, "method": method, "params": params}
    text = json.dumps(frame, allow_nan=True)
    state = Gen2State()
    envelope = Envelope(topic="shellyproem50-1/events/rpc", received_ms=RECEIVED_MS, payload=text)
    assert_exactly_one(parse_envelope(envelope, now_ms=NOW_MS, state=state))


@FUZZ
@given(st.text(max_size=200), st.sampled_from(TOPICS))
def test_any_text_as_an_envelope_line_payload_gives_exactly_one_outcome(text: str, topic: str) -> None:
    line = json.dumps({"topic": topic, "received_ms": RECEIVED_MS, "payload": text})
    assert_exactly_one(parse_line(line, now_ms=NOW_MS))


@settings(max_examples=25, deadline=None)
@given(st.integers(33, 5000), st.sampled_from(["[", '{"a":']))
def test_any_nesting_deeper_than_the_limit_is_refused_as_too_deep(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + "1" + closer * depth
    outcome = parse_envelope(Envelope(topic="shellyproem50-1/events/rpc", received_ms=RECEIVED_MS, payload=text))
    assert outcome.quarantined is not None and outcome.quarantined.reason.value == "too_deep"
