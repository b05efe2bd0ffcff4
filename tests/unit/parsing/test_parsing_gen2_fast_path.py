"""The Gen2 fast path (`gen2.meter_b64`) gives exactly what the general path gives and does exactly what it does to
the Gen2State, or defers to it with the state untouched."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Envelope, ParseOutcome
from wattline.parsing import Gen2State, gen2, limits, parse_envelope

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DEVICE = "shellyproem50-08f9e0e67204"
OTHER = "shelly3em63g3-48f6eead1a8c"
IDS = [DEVICE, DEVICE, OTHER, "bad..id", "", "x" * 65, "dev\n", 5, None, [DEVICE]]
COMPONENT_KEYS = ["em1:0", "em1:1", "em1data:0", "em1data:1", "em:0", "emdata:0", "em1:00", "em1:1000", "em2:0"]
OTHER_KEYS = ["sys", "temperature:0", "wifi", "ts"]
FIELDS = [*gen2.EM1_FIELDS, *gen2.EM1DATA_FIELDS, *list(gen2.EM_FIELDS)[:6], *list(gen2.EMDATA_FIELDS)[:2]]
EXTRA_FIELDS = ["id", "errors", "flags", "calibration", "total_act_power", "a_freq"]
BOUNDARY_VALUES: list[Any] = [0, 0.0, -0.0, 1, -1, -1.0, 0.5, 230.1, 1.0000001, -1.0000001, 50.0, 100.0, 100.01]
ODD_VALUES: list[Any] = [
    100_000,
    100_000.5,
    -100_000,
    500.01,
    1000.001,
    10**12,
    10**12 + 1,
    10**400,
    float("nan"),
    float("inf"),
    None,
    True,
    False,
    "1.5",
    "",
    [],
    ["e"],
    {"a": 1},
]
values = st.sampled_from(BOUNDARY_VALUES) | st.floats(-2000, 2000) | st.sampled_from(ODD_VALUES)
plain_values = st.sampled_from(BOUNDARY_VALUES) | st.floats(0, 400, allow_nan=False) | st.integers(0, 400)
plain_components = st.dictionaries(st.sampled_from(FIELDS), plain_values, min_size=1, max_size=4).map(
    lambda fields: {"id": 0, **fields}
)
odd_components = st.dictionaries(st.sampled_from(FIELDS + EXTRA_FIELDS), values, max_size=5)
good_ts = st.sampled_from([(RECEIVED_MS + d) / 1000 for d in (-5_000, -1, 0, 0.5, 1, 3_000)]) | st.integers(
    RECEIVED_MS // 1000 - 3, RECEIVED_MS // 1000 + 3
)
odd_ts = st.sampled_from([None, "1", True, 1e20, 10**30, 1.0, float("nan")])
GOOD_RECEIVED = [RECEIVED_MS, RECEIVED_MS + 7, RECEIVED_MS - 4_000]
ODD_RECEIVED = [NOW_MS + limits.MAX_FUTURE_MS + 1, NOW_MS + limits.MAX_FUTURE_MS, limits.MIN_TIMESTAMP_MS - 1]
ODD_TOPICS = [
    "bad..id/events/rpc",
    "/events/rpc",
    f"shellies/{DEVICE}/events/rpc",
    "shellies/events/rpc",
    f"{DEVICE}/events/rpcx",
    f"{DEVICE}/online",
    f"{DEVICE}/rpc",
    "bad..id/status/em1:0",
    "a/b/status/em1:0",
    "shellies/status/em1:0",
    f"{DEVICE}/status/switch:0",
    f"{DEVICE}/status/",
    f"{DEVICE}/status/em1:1000",
]
ODD_PAYLOADS = ["", "!!", "e30=", "W10=", "bnVsbA==", "éé", "e30", "eyJhIjpbW1tbXV1dXX0=", "eyJHIjoxfQ=="]


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, int]:
    """(topic, payload_b64, received_ms): a real-shaped Gen2 message, often with one or two things mutated."""
    device = draw(st.sampled_from([DEVICE, DEVICE, OTHER]))
    meters = draw(st.dictionaries(st.sampled_from(COMPONENT_KEYS[:6]), plain_components, min_size=1, max_size=3))
    received_ms = draw(st.sampled_from(GOOD_RECEIVED))
    body: dict[str, Any]
    if draw(st.integers(0, 3)) == 0:  # a full status of one component
        topic = f"{device}/status/{draw(st.sampled_from(COMPONENT_KEYS[:7]))}"
        body = dict(next(iter(meters.values())))
    else:
        params: dict[str, Any] = {"ts": draw(good_ts)} if draw(st.integers(0, 4)) else {}
        params |= meters
        body = {"src": device, "dst": f"{device}/events", "method": "NotifyStatus", "params": params}
        if draw(st.booleans()):
            body["method"] = "NotifyFullStatus"
        if draw(st.integers(0, 5)) == 0:
            del body["src"]
        topic = f"{device}/events/rpc"
    for _ in range(draw(st.integers(0, 2))):
        mutation = draw(st.integers(0, 9))
        inner = body.get("params", body)
        target: dict[str, Any] = inner if isinstance(inner, dict) else body
        meter = next((v for v in target.values() if isinstance(v, dict)), target)
        if mutation == 0:
            topic = draw(st.sampled_from(ODD_TOPICS))
        elif mutation == 1:
            received_ms = draw(st.sampled_from(ODD_RECEIVED))
        elif mutation in (2, 3, 4):
            meter[draw(st.sampled_from(FIELDS + EXTRA_FIELDS))] = draw(values)
        elif mutation == 5:
            target[draw(st.sampled_from(COMPONENT_KEYS + OTHER_KEYS))] = draw(odd_components | values)
        elif mutation == 6:
            body["params" if "params" in body else "src"] = draw(st.sampled_from([None, [], "p", 3]))
        elif mutation == 7:
            body["src" if draw(st.booleans()) else "method"] = draw(st.sampled_from([*IDS, "NotifyEvent"]))
        elif mutation == 8 and isinstance(body.get("params"), dict):
            body["params"]["ts"] = draw(odd_ts)
        else:
            body[draw(st.sampled_from(["G", "cit_s", "dst"]))] = draw(st.sampled_from([1, [[[[[]]]]], "x"]))
    payload_b64 = base64.b64encode(json.dumps(body, allow_nan=True).encode()).decode()
    if draw(st.integers(0, 15)) == 0:
        payload_b64 = draw(st.sampled_from(ODD_PAYLOADS))
    return topic, payload_b64, received_ms


@contextmanager
def general_path_only() -> Iterator[None]:
    with mock.patch.object(gen2, "meter_b64", lambda *_args: None):
        yield


def state_view(state: Gen2State) -> dict[tuple[str, str], tuple[Any, float | None, bool]]:
    return {(d, c): (state.get(d, c), state.updated_ms(d, c), state.has_full(d, c)) for d, c in state}


def run(sequence: list[tuple[str, str, int]]) -> tuple[list[ParseOutcome], Gen2State]:
    state = Gen2State()
    outcomes = [
        parse_envelope(Envelope(topic=topic, received_ms=ms, payload_b64=b64), now_ms=NOW_MS, state=state)
        for topic, b64, ms in sequence
    ]
    return outcomes, state


@PROPERTY
@given(sequence=st.lists(messages(), min_size=1, max_size=8))
def test_a_sequence_of_gen2_messages_gives_the_same_outcomes_and_state_with_and_without_the_fast_path(
    sequence: list[tuple[str, str, int]],
) -> None:
    # Given real-shaped Gen2 messages and mutations of them, in order, each with one shared Gen2State
    # When they are parsed with the fast path, and with the general path only
    fast_outcomes, fast_state = run(sequence)
    with general_path_only():
        general_outcomes, general_state = run(sequence)
    # Then every outcome and the final state are identical
    assert [o.model_dump() for o in fast_outcomes] == [o.model_dump() for o in general_outcomes]
    assert [[r.to_json_line() for r in o.readings] for o in fast_outcomes] == [
        [r.to_json_line() for r in o.readings] for o in general_outcomes
    ]
    assert repr(state_view(fast_state)) == repr(state_view(general_state))  # repr: NaN equals NaN, order counts


@PROPERTY
@given(message=messages())
def test_the_fast_path_leaves_the_state_untouched_whenever_it_defers(message: tuple[str, str, int]) -> None:
    # Given a state that already holds a component, and one message
    state = Gen2State()
    state.apply(DEVICE, "em1:0", {"act_power": 1.0, "id": 0}, ts_ms=float(RECEIVED_MS), full=True)
    before = state_view(state)
    topic, b64, ms = message
    # When the fast path sees it
    result = gen2.meter_b64(topic, ms, b64, NOW_MS, state)
    # Then it either answered, or changed nothing
    if result is None:
        assert repr(state_view(state)) == repr(before)


def test_the_fast_path_answers_for_the_common_notify_status_frame() -> None:
    # Given the common NotifyStatus power delta on events/rpc
    frame = {"src": DEVICE, "method": "NotifyStatus", "params": {"ts": RECEIVED_MS / 1000, "em1:0": {"act_power": 4.5}}}
    b64 = base64.b64encode(json.dumps(frame).encode()).decode()
    # When the fast path parses it
    result = gen2.meter_b64(f"{DEVICE}/events/rpc", RECEIVED_MS, b64, NOW_MS, Gen2State())
    # Then it gives the reading itself
    assert result is not None
    assert result[0] == DEVICE and result[2] == [(0, {"power_w": 4.5})]


def test_the_fast_path_answers_for_a_full_status_topic() -> None:
    # Given a full em1 status on status/em1:1
    b64 = base64.b64encode(json.dumps({"id": 1, "voltage": 231.0, "current": 2}).encode()).decode()
    # When the fast path parses it
    result = gen2.meter_b64(f"{DEVICE}/status/em1:1", RECEIVED_MS, b64, NOW_MS, Gen2State())
    # Then it gives channel 1 with both values as floats
    assert result is not None and result[2] == [(1, {"voltage_v": 231.0, "current_a": 2.0})]
