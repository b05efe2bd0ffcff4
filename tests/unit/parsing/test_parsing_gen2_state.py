"""Gen2State: the last full status per (device, component), with each NotifyStatus delta overlaid."""

from __future__ import annotations

import json
from typing import Any

from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Envelope, ParseOutcome
from wattline.parsing import Gen2State, parse_envelope

DEVICE = "shellyproem50-08f9e0e67204"
FULL_EM1 = {
    "id": 0,
    "voltage": 232.9,
    "current": 1.904,
    "act_power": 231.9,
    "aprt_power": 444.5,
    "pf": 0.68,
    "freq": 50,
    "calibration": "factory",
}
FULL_EM1DATA = {"id": 0, "total_act_energy": 2920.42, "total_act_ret_energy": 0}


def frame(method: str, ts: float, **components: Any) -> Envelope:
    params = {"ts": ts, **{key.replace("_", ":"): body for key, body in components.items()}}
    payload = {"src": DEVICE, "dst": f"{DEVICE}/events", "method": method, "params": params}
    return Envelope(topic=f"{DEVICE}/events/rpc", received_ms=RECEIVED_MS, payload=json.dumps(payload))


def parse(envelope: Envelope, state: Gen2State) -> ParseOutcome:
    return parse_envelope(envelope, now_ms=NOW_MS, state=state)


def test_a_delta_is_overlaid_on_the_last_full_state() -> None:
    # Given a full status, then a delta that only changes act_power and current
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1, em1data_0=FULL_EM1DATA), state)
    parse(frame("NotifyStatus", 1795780003.5, em1_0={"id": 0, "act_power": 1045.2, "current": 5.068}), state)
    # When the state is read
    em1 = state.get(DEVICE, "em1:0")
    # Then it holds the new power and current and the unchanged voltage, pf and frequency
    assert em1 == dict(FULL_EM1, act_power=1045.2, current=5.068)
    assert state.get(DEVICE, "em1data:0") == FULL_EM1DATA
    assert state.updated_ms(DEVICE, "em1:0") == 1795780003500.0
    assert state.has_full(DEVICE, "em1:0")


def test_the_reading_of_a_delta_carries_only_the_delta_even_with_state() -> None:
    # Given a full status in the state
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1), state)
    # When a delta is parsed
    outcome = parse(frame("NotifyStatus", 1795780003.5, em1_0={"act_power": 1045.2}), state)
    # Then its reading has the power only: nothing is filled in from the state
    [reading] = outcome.readings
    assert reading.power_w == 1045.2
    assert reading.voltage_v is None and reading.pf is None


def test_a_later_full_status_replaces_the_state() -> None:
    # Given a full status
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1), state)
    # When a later full status with fewer fields arrives
    parse(frame("NotifyFullStatus", 1795780060.0, em1_0={"id": 0, "act_power": 5.0}), state)
    # Then it replaces the component's state instead of being merged
    assert state.get(DEVICE, "em1:0") == {"id": 0, "act_power": 5.0}


def test_a_status_topic_counts_as_a_full_status() -> None:
    # Given a `status/em1:0` message
    state = Gen2State()
    envelope = Envelope(topic=f"{DEVICE}/status/em1:0", received_ms=RECEIVED_MS, payload=json.dumps(FULL_EM1))
    # When it is parsed with a state
    parse(envelope, state)
    # Then the state holds it as a full status
    assert state.get(DEVICE, "em1:0") == FULL_EM1 and state.has_full(DEVICE, "em1:0")


def test_a_delta_older_than_the_state_is_ignored() -> None:
    # Given a state at t=60 s
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780060.0, em1_0=FULL_EM1), state)
    # When a late delta from t=30 s arrives
    outcome = parse(frame("NotifyStatus", 1795780030.0, em1_0={"act_power": 1.0}), state)
    # Then it still gives its reading, but the state keeps the newer value
    assert outcome.readings[0].power_w == 1.0
    assert state.get(DEVICE, "em1:0") == FULL_EM1


def test_a_quarantined_message_does_not_touch_the_state() -> None:
    # Given a full status
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1), state)
    # When a delta with an impossible voltage arrives
    outcome = parse(frame("NotifyStatus", 1795780003.0, em1_0={"act_power": 1.0, "voltage": 9999}), state)
    # Then it is quarantined and none of its fields reach the state
    assert outcome.quarantined is not None
    assert state.get(DEVICE, "em1:0") == FULL_EM1


def test_an_unavailable_counter_does_not_overwrite_the_last_known_value() -> None:
    # Given a full status with counters
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1, em1data_0=FULL_EM1DATA), state)
    # When a delta reports the energy counter as -1
    parse(frame("NotifyStatus", 1795780060.0, em1_0={"act_power": 2.0}, em1data_0={"total_act_energy": -1}), state)
    # Then the state keeps the last known counter
    assert state.get(DEVICE, "em1data:0") == FULL_EM1DATA


def test_a_delta_before_any_full_status_starts_a_partial_state() -> None:
    # Given an empty state, When a delta arrives first
    state = Gen2State()
    parse(frame("NotifyStatus", 1795780000.0, em1_0={"act_power": 2.0}), state)
    # Then the state holds the delta and says it has not seen a full status
    assert state.get(DEVICE, "em1:0") == {"act_power": 2.0}
    assert not state.has_full(DEVICE, "em1:0")


def test_the_state_keeps_meter_components_only_and_hands_out_copies() -> None:
    # Given a full status with a meter and a sys component
    state = Gen2State()
    parse(frame("NotifyFullStatus", 1795780000.0, em1_0=FULL_EM1, sys={"uptime": 5}), state)
    # When a caller changes what it got from the state
    copy_of = state.get(DEVICE, "em1:0")
    assert copy_of is not None
    copy_of["act_power"] = -1
    # Then the state is unchanged and holds the meter component only
    assert state.components(DEVICE) == {"em1:0": FULL_EM1}
    assert state.devices() == [DEVICE] and len(state) == 1


def test_nested_objects_of_a_delta_are_merged_not_replaced() -> None:
    # Given a full status with a nested object
    state = Gen2State()
    state.apply(DEVICE, "em1:0", {"act_power": 1.0, "extra": {"a": 1, "b": 2}}, ts_ms=1.0, full=True)
    # When a delta changes one nested field
    state.apply(DEVICE, "em1:0", {"extra": {"b": 3}}, ts_ms=2.0, full=False)
    # Then the other nested field stays
    assert state.get(DEVICE, "em1:0") == {"act_power": 1.0, "extra": {"a": 1, "b": 3}}
