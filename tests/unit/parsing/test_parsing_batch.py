"""The batch parser (`wattline.parsing.batch`) against the per-message parser it must equal, outcome by outcome.

`parse_messages` over a batch must give, for message i, exactly what `parse_message` gives for it (its rows in
order, or the same QuarantineRecord); with `lines`, a rejected message's record is `parse_line_rows`'s. `parse_object`
must give `parse_object_rows`'s outcomes, one per envelope line. Compared here on the 88 real payloads (alone and
mixed with simulator traffic), on fuzzed real-shaped messages (the strategies of test_reference_decoder), and on the
cases the batch path treats specially. Also: `RowColumns` round trips, `EnergyColumns.add_columns` == `add_row`,
`typed_capture_columns` == `typed_capture`, `LineReader.raw_blocks` == `raw_lines`.

The disagreements these tests found (a null meter component next to a good one; an envelope line whose unknown key
nests too deep or holds invalid UTF-8) are fixed and kept as regressions at the end of the file.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from shelly_cases import NOW_MS, RECEIVED_MS, all_cases
from test_reference_decoder import GEN1_DEVICE, GEN2_DEVICE, OTHER_DEVICE, gen1_lines, gen2_lines

from wattline.energy.engine import EnergyColumns
from wattline.formats.frames import envelope_line
from wattline.inputs import BlockLines, InputTooLarge, LineReader
from wattline.models import READING_QUANTITIES, Generation, QuarantineRecord
from wattline.parsing import Row, parse_line_rows, parse_message, parse_object_rows
from wattline.parsing import envelope as envelope_module
from wattline.parsing.batch import BATCH_MESSAGES, ParsedBatch, RowColumns, parse_messages, parse_object
from wattline.parsing.limits import MAX_FUTURE_MS, MAX_PAYLOAD_BYTES, MIN_TIMESTAMP_MS
from wattline.parsing.lines import typed_capture, typed_capture_columns
from wattline.simulator.scenario import simulate

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Outcome = list[Row] | QuarantineRecord
Message = tuple[str, Any, Any, str | None]  # topic, received_ms, payload, payload_b64

# ---------------------------------------------------------------------------------------------------------------
# Helpers


def outcomes_of(batch: ParsedBatch) -> list[Outcome]:
    """The batch's outcome of each message: the rows whose `message` is i (in order), or its one record. Also checks
    the batch's own invariants: rows in message order, each message either rows or one record, never both."""
    rows = batch.rows.rows()
    messages = batch.rows.message.tolist()
    assert len(rows) == len(messages) == len(batch.rows)
    assert messages == sorted(messages), "rows are not in message order"
    by_message: dict[int, Outcome] = {}
    for row, index in zip(rows, messages, strict=True):
        found = by_message.setdefault(index, [])
        assert isinstance(found, list)
        found.append(row)
    quarantined = [index for index, _record in batch.quarantined]
    assert quarantined == sorted(set(quarantined)), "quarantined not in message order, or a message twice"
    for index, record in batch.quarantined:
        assert index not in by_message, f"message {index} gave both rows and a record"
        by_message[index] = record
    assert sorted(by_message) == list(range(batch.messages)), "a message gave no outcome at all"
    return [by_message[index] for index in range(batch.messages)]


def assert_same(got: Sequence[Outcome], expected: Sequence[Outcome]) -> None:
    assert len(got) == len(expected)
    for index, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        assert mine == theirs, f"message {index}: batch {mine!r} != per-message {theirs!r}"


def per_message(messages: Sequence[Message], **options: Any) -> list[Outcome]:
    return [parse_message(*message, now_ms=NOW_MS, **options) for message in messages]


def batch_of(messages: Sequence[Message], **options: Any) -> list[Outcome]:
    topics, received, payloads, encoded = (
        (list(column) for column in zip(*messages, strict=True)) if messages else ([],) * 4
    )
    return outcomes_of(parse_messages(topics, received, payloads, encoded, now_ms=NOW_MS, **options))


def assert_messages_agree(messages: Sequence[Message], **options: Any) -> None:
    assert_same(batch_of(messages, **options), per_message(messages, **options))


def lines_of(messages: Sequence[Message]) -> list[bytes]:
    return [envelope_line(*message).encode() for message in messages]


def assert_object_agrees(data: bytes, **options: Any) -> None:
    expected = parse_object_rows(data, now_ms=NOW_MS, **options)
    assert_same(outcomes_of(parse_object(data, now_ms=NOW_MS, **options)), expected)


def assert_all_agree(messages: Sequence[Message], device_ids: Sequence[str | None] = (None,)) -> None:
    """parse_messages (plain, with source_key, with device_id) and parse_object over the messages' envelope lines."""
    for device_id in device_ids:
        assert_messages_agree(messages, device_id=device_id)
        assert_messages_agree(messages, device_id=device_id, source_key="raw/some/key")
        assert_object_agrees(b"\n".join(lines_of(messages)), device_id=device_id, source_key="raw/some/key")


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode("utf-8") if isinstance(text, str) else text).decode("ascii")


def handed_over(messages: Sequence[Message], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """(topic, received_ms) of each message the batch path handed to the per-message parser (did not decide itself)."""
    handed: list[tuple[str, Any]] = []
    original = envelope_module.parse_message

    def spy(topic: str, received_ms: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append((topic, received_ms))
        return original(topic, received_ms, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(envelope_module, "parse_message", spy)
        batch_of(messages)
    return handed


def frame(params: dict[str, Any], *, method: str = "NotifyStatus", src: Any = GEN2_DEVICE, **extra: Any) -> str:
    return json.dumps({"src": src, "dst": f"{GEN2_DEVICE}/events", "method": method, "params": params, **extra})


RPC = f"{GEN2_DEVICE}/events/rpc"


def gen1_topic(quantity: str = "power", channel: int = 0, device: str = GEN1_DEVICE) -> str:
    return f"shellies/{device}/emeter/{channel}/{quantity}"


BATCH_KEYS = ["em1:0", "em1:1", "em1:2", "em1data:0", "em1data:1", "em1data:2", "em:0", "emdata:0"]
"""The meter component keys the batch path reads itself (any other key makes it hand the message over)."""


# ---------------------------------------------------------------------------------------------------------------
# 1. Every real payload


def real_messages() -> list[Message]:
    """Each real payload in the envelopes it arrives in: as the case builds it, as text, and as payload_b64."""
    found: list[Message] = []
    for case in all_cases():
        envelope = case.envelope
        if envelope.payload_b64 is not None:
            found.append((envelope.topic, envelope.received_ms, None, envelope.payload_b64))
            continue
        payload = envelope.payload
        text = payload if isinstance(payload, str) else json.dumps(payload)
        if not isinstance(payload, str):
            found.append((envelope.topic, envelope.received_ms, payload, None))
        found.append((envelope.topic, envelope.received_ms, text, None))
        found.append((envelope.topic, envelope.received_ms, None, b64(text)))
    return found


@functools.cache
def bench_messages() -> list[Message]:
    """Simulator traffic as the bench capture holds it (Gen1 emeter numbers, Gen2 notifications, LWT, faults)."""
    scenario = simulate(devices=3, days=1, seed=11, today=date(2026, 11, 26), faults=True)
    return [(m.topic, m.received_ms, m.payload.decode("utf-8"), None) for m in scenario.messages[::4]]


def test_every_real_payload_in_one_batch_equals_the_per_message_parser() -> None:
    # Given the 88 real payloads in every envelope form, as one batch
    messages = real_messages()
    assert len({case.record_id for case in all_cases()}) == 88
    # When parsed as a batch and message by message / Then the same outcome for each (with and without device_id)
    assert_all_agree(messages, device_ids=(None, GEN2_DEVICE, "shellyem-b4e62d5fd1a2"))


def test_the_real_payloads_mixed_into_bench_traffic_equal_the_per_message_parser() -> None:
    # Given simulator traffic with the real payloads interleaved (several devices and topics)
    bench = bench_messages()
    real = real_messages()
    step = max(1, len(bench) // len(real))
    mixed: list[Message] = []
    for index, message in enumerate(real):
        mixed.extend(bench[index * step : (index + 1) * step])
        mixed.append(message)
    mixed.extend(bench[len(real) * step :])
    # When parsed as a batch / Then message by message the same outcome
    assert_all_agree(mixed)
    assert_messages_agree(mixed[::-1])


def test_an_object_of_base64_envelopes_only_parses_as_the_per_message_parser() -> None:
    # Given the real payloads (many rejected) stored only as the rules store them, line after line (LF or CRLF, a
    # rejected line's record keeping its \r as the per-line framing keeps it), past one slice
    stored = [message for message in real_messages() if message[3] is not None]
    many = stored * (BATCH_MESSAGES // len(stored) + 2)
    for ending in (b"\n", b"\r\n"):
        data = ending.join(lines_of(many)) + ending
        # When the object is parsed as a batch (framed by one decoder call, rejected lines split out on demand)
        # Then every message's outcome, a rejected one's record with its whole line, is the per-message parser's
        for device_id in (None, GEN2_DEVICE):
            assert_object_agrees(data, device_id=device_id, source_key="raw/some/key")


def test_two_envelopes_on_a_line_next_to_a_blank_line_are_framed_as_the_per_line_parser_frames_them() -> None:
    # Given an object with as many envelopes as lines, two of them on one line and one line blank
    first, second, third = lines_of([message for message in real_messages() if message[3] is not None][:3])
    data = first + b" " + second + b"\n\n" + third + b"\n"
    # When parsed as a batch / Then line by line, as the per-line parser frames it (the double line malformed)
    assert_object_agrees(data, source_key="raw/some/key")


def test_the_batch_path_itself_takes_the_common_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given bench traffic (Gen1 numbers and Gen2 notifications of meter components)
    messages = bench_messages()
    # When parsed as a batch
    handed = handed_over(messages, monkeypatch)
    # Then nearly all of them are decided by the batch path (so the comparisons above test it, not the fallback)
    common = [topic for topic, *_rest in messages if "/emeter/" in topic or topic.endswith("/events/rpc")]
    handed_common = [topic for topic, _received in handed if "/emeter/" in topic or topic.endswith("/events/rpc")]
    assert len(common) > 1000
    assert len(handed_common) <= 0.02 * len(common)


# ---------------------------------------------------------------------------------------------------------------
# 2. Fuzzed real-shaped messages

any_line = gen1_lines() | gen2_lines()


def valid_envelope(line: str) -> Message | None:
    """The fields of a line that is a valid envelope (topic str, int received_ms, exactly one payload), else None."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    topic, received_ms = value.get("topic"), value.get("received_ms")
    payload, encoded = value.get("payload"), value.get("payload_b64")
    if not isinstance(topic, str) or received_ms.__class__ is not int:
        return None
    if (payload is None) == (encoded is None) or (encoded is not None and not isinstance(encoded, str)):
        return None
    return topic, received_ms, payload, encoded


@FUZZ
@given(lines=st.lists(any_line, min_size=1, max_size=40), device_id=st.sampled_from([None, GEN1_DEVICE, GEN2_DEVICE]))
def test_fuzzed_objects_parse_as_the_per_message_parser_parses_them(lines: list[str], device_id: str | None) -> None:
    # Given a raw object of real-shaped, mutated envelope lines of both generations
    data = b"\n".join(line.encode("utf-8") for line in lines)
    # When parsed as a batch / Then each line's outcome is parse_object_rows's (without and with a device id)
    assert_object_agrees(data)
    assert_object_agrees(data, device_id=device_id, source_key="raw/key")


@FUZZ
@given(lines=st.lists(any_line, min_size=1, max_size=40), device_id=st.sampled_from([None, GEN1_DEVICE, GEN2_DEVICE]))
def test_fuzzed_envelopes_parse_as_the_per_message_parser_parses_them(lines: list[str], device_id: str | None) -> None:
    # Given the valid envelopes among real-shaped, mutated lines of both generations
    messages = [message for line in lines if (message := valid_envelope(line)) is not None]
    # When their fields are parsed as a batch / Then each message's outcome is parse_message's
    assert_messages_agree(messages)
    assert_messages_agree(messages, device_id=device_id)


SPEC_FIELDS = {
    "em1": ["act_power", "aprt_power", "voltage", "current", "pf", "freq", "id", "calibration", "errors", "flags"],
    "em1data": ["total_act_energy", "total_act_ret_energy", "id", "errors"],
    "em": [
        *[f"{phase}_{name}" for phase in "abc" for name in ("act_power", "aprt_power", "voltage", "current", "pf")],
        *["a_freq", "b_freq", "c_freq", "n_current", "total_act_power", "total_current", "errors", "a_errors"],
    ],
    "emdata": [*[f"{p}_total_act_energy" for p in "abc"], "b_total_act_ret_energy", "total_act", "id", "errors"],
}
odd_values = st.none() | st.sampled_from(
    [-1, -1.0, 0, -0.0, 1.0000001, 230.1, 500.01, 1e12, 10**12 + 1, 10**20, -(10**20), True, "5", [], ["x"], {}]
)
# Within the bounds of every field (power, V, A, pf, Hz, counters) four times in five, else odd
field_values = st.one_of(st.floats(0, 1), st.integers(0, 1), st.floats(0, 1), st.floats(-1, 1), odd_values)


@st.composite
def batch_shaped_lines(draw: st.DrawFn) -> str:
    """Envelope lines shaped like what the batch path reads itself (notifications of its meter keys, Gen1 emeter
    numbers), most of them valid, some one detail away: nulls, bounds, two keys feeding one value, odd ts, odd text."""
    received_ms = draw(st.sampled_from([RECEIVED_MS, RECEIVED_MS - 4_000]) | st.integers(RECEIVED_MS - 10**9, NOW_MS))
    encode = draw(st.booleans())
    if draw(st.integers(0, 2)) == 0:
        quantity = draw(st.sampled_from(["power", "reactive_power", "voltage", "pf", "current", "total", "energy"]))
        text = draw(
            st.sampled_from(["12.5", "-1", " 230.1\n", "+3", ".5", "1e3", "0.999", "nan", "1_0", ""])
            | st.text(alphabet="0123456789+-.eE _", max_size=8)
            | st.floats(allow_nan=False).map(repr)
        )
        topic = gen1_topic(quantity, draw(st.integers(0, 2)), draw(st.sampled_from([GEN1_DEVICE] * 4 + [OTHER_DEVICE])))
        return envelope_line(topic, received_ms, None if encode else text, b64(text) if encode else None)
    params: dict[str, Any] = {}
    for key in draw(st.permutations([*BATCH_KEYS, "em1:3", "sys"]))[: draw(st.integers(1, 4))]:
        fields = SPEC_FIELDS.get(key.split(":")[0], ["uptime"])
        chosen = draw(st.lists(st.sampled_from(fields), max_size=4, unique=True))
        params[key] = (
            None if draw(st.sampled_from([False] * 12 + [True])) else {name: draw(field_values) for name in chosen}
        )
    ts = draw(
        st.sampled_from([None, "absent", TS, HALF_EVEN_DOWN, HALF_EVEN_UP, 1795777140, MIN_TIMESTAMP_MS / 1000 - 1])
        | st.floats(1.7e9, 1.8e9)
    )
    if ts != "absent":
        params = {"ts": ts, **params} if draw(st.booleans()) else {**params, "ts": ts}
    method = draw(st.sampled_from(["NotifyStatus"] * 4 + ["NotifyFullStatus"] * 2 + ["NotifyEvent"]))
    src = draw(st.sampled_from([GEN2_DEVICE] * 8 + [None, OTHER_DEVICE]))
    text = frame(params, method=method, src=src)
    device = OTHER_DEVICE if draw(st.integers(0, 9)) == 9 else GEN2_DEVICE
    topic = f"{device}/events/rpc"
    return envelope_line(topic, received_ms, None if encode else text, b64(text) if encode else None)


@FUZZ
@given(lines=st.lists(batch_shaped_lines() | any_line, min_size=1, max_size=40))
def test_fuzzed_batch_shaped_messages_parse_as_the_per_message_parser_parses_them(lines: list[str]) -> None:
    # Given lines shaped like what the batch path reads itself, mixed with the reference decoder's mutated ones
    data = b"\n".join(line.encode("utf-8") for line in lines)
    messages = [message for line in lines if (message := valid_envelope(line)) is not None]
    # When parsed as a batch / Then each outcome is the per-message parser's (object and envelope fields)
    for device_id in (None, GEN2_DEVICE):
        assert_object_agrees(data, device_id=device_id)
        assert_messages_agree(messages, device_id=device_id)


# ---------------------------------------------------------------------------------------------------------------
# 3. The cases the batch path treats specially

TS = 1795777140.25
HALF_EVEN_DOWN = 1795777140.0078125  # (ts - floor) * 1e6 == 7812.5 exactly: rounds to 7812
HALF_EVEN_UP = 1795777140.0234375  # 23437.5: rounds to 23438
WINDOW_END_MS = NOW_MS + MAX_FUTURE_MS

SPECIAL: dict[str, list[Message]] = {
    "two-components-one-value": [
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5}, "em:0": {"a_act_power": 2.5}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em:0": {"a_act_power": 2.5}, "em1:0": {"act_power": 1.5}}), None),
        (RPC, RECEIVED_MS, frame({"em1data:0": {"total_act_energy": 3}, "emdata:0": {"a_total_act_energy": 4}}), None),
        (RPC, RECEIVED_MS, frame({"emdata:0": {"b_total_act_energy": 4}, "em1data:1": {"total_act_energy": 3}}), None),
        (RPC, RECEIVED_MS, frame({"em1:1": {"voltage": 230}, "em:0": {"b_act_power": 7}}), None),
        (RPC, RECEIVED_MS, frame({"em:0": {"c_current": 1}, "em1:2": {"current": 2, "voltage": 231}}), None),
    ],
    "unknown-field": [
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5, "mystery": 1}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em:0": {"a_act_power": 1.5, "a_act_powerx": 2}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5, "id": 0, "calibration": "factory"}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5, "errors": ["x"], "flags": []}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5, "errors": [["nested"]]}}), None),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 1.5}}, id=7), None),
    ],
    "non-meter-key": [
        (RPC, RECEIVED_MS, frame({"ts": TS, "sys": {"uptime": 5}, "em1:0": {"act_power": 1.5}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 1.5}, "switch:0": {"output": True}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "sys": {"uptime": 5}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:3": {"act_power": 1.5}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:3": {"act_power": 1.5}, "em1:0": {"voltage": 230}}), None),
        (
            RPC,
            RECEIVED_MS,
            frame({"ts": TS, "em:1": {"a_act_power": 1.5}, "emdata:1": {"a_total_act_energy": 9}}),
            None,
        ),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:00": {"act_power": 1.5}}), None),
    ],
    "nulls": [
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": None, "voltage": 230}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": None}}), None),
        (RPC, RECEIVED_MS, frame({"ts": None, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 3}, "em1data:0": {}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 3}}, src=None), None),
        (RPC, RECEIVED_MS, json.dumps({"src": GEN2_DEVICE, "method": "NotifyStatus", "params": None}), None),
        (RPC, RECEIVED_MS, json.dumps({"src": GEN2_DEVICE, "method": None, "params": {"em1:0": {"voltage": 1}}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": None}), None),
    ],
    "ts": [
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 1795777140, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": HALF_EVEN_DOWN, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": HALF_EVEN_UP, "em:0": {"a_act_power": 3, "c_voltage": 229}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 1795777140.9999996, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 1788945292.88, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": "1795777140", "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": True, "em1:0": {"act_power": 3}}), None),
    ],
    "ts-out-of-window": [
        (RPC, RECEIVED_MS, frame({"ts": MIN_TIMESTAMP_MS / 1000, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": MIN_TIMESTAMP_MS / 1000 - 0.001, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": WINDOW_END_MS / 1000, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": WINDOW_END_MS / 1000 + 0.001, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 0, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": -1.5, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 1e20, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": 10**400, "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": -(10**400), "em1:0": {"act_power": 3}}), None),
        (RPC, RECEIVED_MS, frame({"ts": RECEIVED_MS, "em1:0": {"act_power": 3}}), None),
    ],
    "received-out-of-window": [
        *[
            (topic, received, payload, None)
            for received in (MIN_TIMESTAMP_MS - 1, MIN_TIMESTAMP_MS, WINDOW_END_MS, WINDOW_END_MS + 1, 0, -5)
            for topic, payload in ((RPC, frame({"em1:0": {"act_power": 3}})), (gen1_topic(), "12.5"))
        ],
    ],
    "other-src": [
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, src=OTHER_DEVICE), None),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, src="bad..id"), None),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, src=5), None),
        (f"{OTHER_DEVICE}/events/rpc", RECEIVED_MS, frame({"em1:0": {"act_power": 3}}), None),
    ],
    "methods": [
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, method="NotifyFullStatus"), None),
        (RPC, RECEIVED_MS, frame({"ts": TS, "em:0": {"a_act_power": 3}}, method="NotifyFullStatus"), None),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, method="NotifyEvent"), None),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}, method="notifystatus"), None),
    ],
    "gen1-numbers": [
        (gen1_topic(quantity, channel), RECEIVED_MS, text, None)
        for quantity, channel in (("power", 0), ("total", 1), ("voltage", 2), ("pf", 0), ("total_returned", 0))
        for text in (
            "12.5",
            " 12.5 ",
            "\t7\n",
            "\u00a012.5",
            "+1",
            ".5",
            "5.",
            "1e3",
            "-1",
            "-1.0",
            "-0",
            "nan",
            "NaN",
            "inf",
            "1_000",
            "12,5",
            "١٢",
            "0x10",
            "",
            " ",
            "1e400",
            "1" * 400,
            "230.1",
            "1e12",
            "100000.01",
            "12.5\x00",
        )
    ],
    "gen1-base64": [
        (gen1_topic("power"), RECEIVED_MS, None, b64(raw))
        for raw in (
            b"12.5",
            b" 12.5\n",
            b"+1",
            b".5",
            b"1e3",
            b"-1",
            b"nan",
            b"1_000",
            b"\xc2\xa012.5",
            b"12\xff",
            b"\xff",
        )
    ]
    + [
        (gen1_topic("total"), RECEIVED_MS, None, b64(b"-1")),
        (gen1_topic("power"), RECEIVED_MS, None, "MTIuNQ"),
        (gen1_topic("power"), RECEIVED_MS, None, "MTIu NQ=="),
        (gen1_topic("power"), RECEIVED_MS, 12.5, None),
        (gen1_topic("power"), RECEIVED_MS, True, None),
        (gen1_topic("power"), RECEIVED_MS, "12.5", b64("13.5")),
        (RPC, RECEIVED_MS, frame({"em1:0": {"act_power": 3}}), b64(frame({"em1:0": {"act_power": 4}}))),
        (RPC, RECEIVED_MS, None, b64(frame({"em1:0": {"act_power": 4}}))),
        (RPC, RECEIVED_MS, None, b64(frame({"em1:0": {"act_power": 4}}))[:-2]),
        (RPC, RECEIVED_MS, {"src": GEN2_DEVICE, "method": "NotifyStatus", "params": {"em1:0": {"act_power": 4}}}, None),
    ],
    "gen1-topics": [
        (gen1_topic("energy"), RECEIVED_MS, "5", None),
        (gen1_topic("Power"), RECEIVED_MS, "5", None),
        (f"shellies/{GEN1_DEVICE}/emeter/10/power", RECEIVED_MS, "5", None),
        (f"shellies/{GEN1_DEVICE}/emeter/100/power", RECEIVED_MS, "5", None),
        (f"shellies/{GEN1_DEVICE}/emeter/٣/power", RECEIVED_MS, "5", None),
        (f"shellies/{GEN1_DEVICE}/emeter/0/power/x", RECEIVED_MS, "5", None),
        (f"shellies/{GEN1_DEVICE}/relay/0", RECEIVED_MS, "on", None),
        (f"shellies/{GEN1_DEVICE}/online", RECEIVED_MS, "true", None),
        ("shellies/bad..id/emeter/0/power", RECEIVED_MS, "5", None),
        ("shellies/shellies/emeter/0/power", RECEIVED_MS, "5", None),
        ("shellies/x/events/rpc", RECEIVED_MS, frame({"em1:0": {"act_power": 3}}), None),
        ("/events/rpc", RECEIVED_MS, frame({"em1:0": {"act_power": 3}}), None),
        ("", RECEIVED_MS, "5", None),
    ],
    "interleaved-devices": [
        message
        for step in range(6)
        for message in (
            (gen1_topic("power", step % 3), RECEIVED_MS + step, f"{step}.5", None),
            (
                f"{OTHER_DEVICE}/events/rpc",
                RECEIVED_MS + step,
                frame({"em:0": {"a_act_power": step, "c_voltage": 230}}, src=OTHER_DEVICE),
                None,
            ),
            (
                RPC,
                RECEIVED_MS + step,
                frame({"ts": TS + step, "em1:1": {"act_power": step}, "em1:0": {"voltage": 231}}),
                None,
            ),
            (gen1_topic("total", 1, "shellyem-b4e62d5fd1a2"), RECEIVED_MS - step, f"{1000 + step}", None),
            (RPC, RECEIVED_MS, frame({"em1:0": None, "sys": {}}) if step == 3 else frame({"em1:5": {}}), None),
            (f"shellies/{GEN1_DEVICE}/relay/0", RECEIVED_MS, "off", None),
        )
    ],
    # Fields and components present in some messages of a batch only: absent, null or carried, the first message
    # carrying them or not (the batch path skips a column no message carries before converting it)
    "coming-and-going": [
        (RPC, RECEIVED_MS + step, frame({"ts": TS + step, **params}), None)
        for step, params in enumerate(
            [
                {"em1:0": {"voltage": 230}},
                {"em1:0": {"act_power": 3, "voltage": None}},
                {"em1:1": {"act_power": None, "current": 1}, "em1:0": {}},
                {"em1:0": {"act_power": 4, "id": 0}, "em1:1": {"pf": 0.5, "errors": []}},
                {"em1data:2": {"total_act_energy": 7}, "em1:2": {"voltage": 229}},
                {"em1:0": {"act_power": None}, "em1:1": {"current": 2}},
                {"em:0": {"b_voltage": 231, "c_act_power": None}, "emdata:0": {"a_total_act_energy": 9}},
            ]
        )
    ]
    + [
        (f"{GEN2_DEVICE}/status/em1:0", RECEIVED_MS + step, json.dumps(body), None)
        for step, body in enumerate(
            [{"id": 0, "voltage": 230}, {"act_power": 3, "voltage": None}, {}, {"current": 1, "pf": 0.5}]
        )
    ],
}
SPECIAL["everything"] = [message for messages in SPECIAL.values() for message in messages]


@pytest.mark.parametrize("name", list(SPECIAL))
def test_the_cases_the_batch_path_treats_specially_equal_the_per_message_parser(name: str) -> None:
    # Given messages the batch path reads specially (or must hand over), alone and as one batch
    messages = SPECIAL[name]
    # When parsed as a batch / Then each outcome is the per-message parser's (with and without a device id)
    for device_id in (None, GEN1_DEVICE, GEN2_DEVICE, OTHER_DEVICE):
        assert_messages_agree(messages, device_id=device_id)
        assert_object_agrees(b"\n".join(lines_of(messages)), device_id=device_id, source_key="k")
    for message in messages:
        assert_messages_agree([message])


def test_the_batch_path_itself_reads_the_plain_special_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the plain cases (one value per field, ts int/float/half-way, NotifyFullStatus, odd but decimal numbers)
    plain = [
        SPECIAL["two-components-one-value"][4],
        SPECIAL["nulls"][0],
        SPECIAL["nulls"][2],
        *SPECIAL["ts"][:7],
        SPECIAL["methods"][0],
        *[message for message in SPECIAL["gen1-numbers"] if message[2] in (" 12.5 ", "+1", ".5", "1e3", "5.")],
    ]
    plain = [message for message in plain if isinstance(parse_message(*message, now_ms=NOW_MS), list)]
    assert len(plain) >= 20
    # When parsed as a batch / Then the batch path decides them itself (the comparisons test it, not the fallback)
    assert handed_over(plain, monkeypatch) == []
    assert all(isinstance(outcome, list) and outcome for outcome in batch_of(plain))


def test_fields_and_components_in_some_messages_only_are_read_by_the_batch_path_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given notifications and component statuses whose fields and components come and go from message to message
    messages = SPECIAL["coming-and-going"]
    expected = per_message(messages)
    # When parsed as a batch / Then each outcome is the per-message parser's, and the batch path decided every
    # message that gives rows itself
    assert_same(batch_of(messages), expected)
    readable = [message for message, outcome in zip(messages, expected, strict=True) if isinstance(outcome, list)]
    assert len(readable) >= 8
    assert handed_over(readable, monkeypatch) == []


def test_base64_payloads_about_the_size_limits_parse_as_the_per_message_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Gen1 numbers and Gen2 notifications padded with white space to about a quarter of the payload limit
    # (the most the batch path reads itself) and past the limit, base64 as the rules store them
    quarter = MAX_PAYLOAD_BYTES // 4
    sizes = (quarter - 1, quarter, quarter + 1, MAX_PAYLOAD_BYTES + 1)
    texts = {gen1_topic(): "12.5", RPC: frame({"ts": TS, "em1:0": {"act_power": 3}})}
    messages = [
        (topic, RECEIVED_MS + size, None, b64(text + " " * (size - len(text))))
        for topic, text in texts.items()
        for size in sizes
    ]
    # When parsed as a batch, all together and each alone / Then each outcome is the per-message parser's
    for batch in (messages, *([message] for message in messages)):
        assert_messages_agree(batch)
    # And the batch path itself took those of at most a quarter of the limit
    assert sorted(handed_over(messages, monkeypatch)) == sorted(
        (topic, RECEIVED_MS + size) for topic in texts for size in sizes if size > quarter
    )


def test_two_components_feeding_one_value_keep_the_per_message_parsers_winner() -> None:
    # Given em1:0 and em:0 both carrying channel 0's power, in both key orders
    first, second = SPECIAL["two-components-one-value"][:2]
    # When parsed as a batch / Then the later key in the message wins, as the per-message parser says
    rows = [outcome for outcome in batch_of([first, second])]
    assert rows == per_message([first, second])
    assert isinstance(rows[0], list) and rows[0][0][5]["power_w"] == 2.5
    assert isinstance(rows[1], list) and rows[1][0][5]["power_w"] == 1.5


def test_ts_half_way_between_microseconds_rounds_half_even_as_the_per_message_parser() -> None:
    messages = SPECIAL["ts"][3:5]
    outcomes = batch_of(messages)
    assert outcomes == per_message(messages)
    assert [outcome[0][2] % 1_000_000 for outcome in outcomes if isinstance(outcome, list)] == [7812, 23438]


def test_an_empty_batch_and_an_empty_object() -> None:
    assert outcomes_of(parse_messages([], [], [], [], now_ms=NOW_MS)) == []
    for data in (b"", b"\n\n", b"  \r\n"):
        assert_object_agrees(data)


def test_a_pretty_printed_envelope_and_odd_lines_in_an_object() -> None:
    pretty = json.dumps({"topic": gen1_topic(), "received_ms": RECEIVED_MS, "payload": "12.5"}, indent=2).encode()
    good = envelope_line(gen1_topic(), RECEIVED_MS, "12.5", None).encode()
    for data in (
        pretty,
        pretty + b"\n" + good,
        good + b"\r\n" + good + b"\r\n",
        good + b"\n{\n" + good,
        good + b"\nnot json\n[1]\n" + good,
        good + b'\n{"topic": 5, "received_ms": 1, "payload": "1"}',
        good + b'\n{"topic": "t", "received_ms": 1.7e12, "payload": "1"}',
        good + b'\n{"topic": "%s", "received_ms": 1795780740000.0, "payload": "1"}' % gen1_topic().encode(),
        good + b'\n{"topic": "%s", "received_ms": %d, "payload": "1"}' % (gen1_topic().encode(), 2**63 + 5),
        good
        + b'\n{"topic": "%s", "received_ms": %d, "payload": "1", "payload_b64": "MQ=="}'
        % (gen1_topic().encode(), RECEIVED_MS),
        good
        + b'\n{"topic": "%s", "received_ms": %d, "payload": null, "payload_b64": "MQ=="}'
        % (gen1_topic().encode(), RECEIVED_MS),
        good
        + b'\n{"topic": "%s", "received_ms": %d, "payload": "1", "qos": 1, "retain": false}'
        % (gen1_topic().encode(), RECEIVED_MS),
        good
        + b'\n{"topic": "%s", "topic": "%s", "received_ms": %d, "payload": "1"}'
        % (gen1_topic().encode(), gen1_topic("voltage").encode(), RECEIVED_MS),
        good
        + b'\n{"topic": "%s", "received_ms": %d, "payload": "1", "x": "\\ud800"}'
        % (gen1_topic().encode(), RECEIVED_MS),
        good + b"\n" + b"x" * 400_000,
    ):
        assert_object_agrees(data)
        assert_object_agrees(data, device_id=GEN1_DEVICE)


# ---------------------------------------------------------------------------------------------------------------
# 4. RowColumns

DEVICES = [GEN1_DEVICE, GEN2_DEVICE, OTHER_DEVICE, "shellyem-b4e62d5fd1a2"]
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def rows(draw: st.DrawFn) -> Row:
    device = draw(st.sampled_from(DEVICES))
    ts_us = draw(st.integers(1_420_070_400_000_000, 1_800_000_000_000_000))
    received_ms = draw(st.integers(1_420_070_400_000, 1_800_000_000_000))
    generation = draw(st.sampled_from([Generation.GEN1, Generation.GEN2]))
    kind = draw(st.integers(0, 5))
    values: dict[str, Any]
    if kind == 0:
        return device, None, ts_us, received_ms, generation, {"online": draw(st.booleans())}
    if kind == 1:
        return (
            device,
            None,
            ts_us,
            received_ms,
            generation,
            {"relay": draw(st.sampled_from(["on", "off", "overpower"]))},
        )
    names = draw(st.lists(st.sampled_from(READING_QUANTITIES), unique=True, max_size=len(READING_QUANTITIES)))
    values = {name: draw(finite) for name in names}
    channel = draw(st.none() | st.integers(0, 11)) if kind == 2 else draw(st.integers(0, 11))
    return device, channel, ts_us, received_ms, generation, values


@QUICK
@given(first=st.lists(rows(), max_size=30), second=st.lists(rows(), max_size=30), data=st.data())
def test_row_columns_round_trip_concat_and_take(first: list[Row], second: list[Row], data: st.DataObject) -> None:
    # Given rows of every kind (device-level state, no channel, every quantity) and their message indices
    messages_a = list(range(len(first)))
    messages_b = [len(first) + index for index in range(len(second))]
    a, b = RowColumns.from_rows(first, messages_a), RowColumns.from_rows(second, messages_b)
    # When turned into columns and back / Then the same rows (and values of the same type), messages kept
    assert a.rows() == first and b.rows() == second
    assert [list(map(type, row[5].values())) for row in a.rows()] == [list(map(type, row[5].values())) for row in first]
    assert a.message.tolist() == messages_a
    # concat: the rows one after the other, the devices remapped
    joined = RowColumns.concat([a, RowColumns.empty(), b])
    assert joined.rows() == first + second and joined.message.tolist() == messages_a + messages_b
    assert RowColumns.concat([]).rows() == [] and RowColumns.concat([a]).rows() == first
    # take: the chosen rows, in the order chosen
    chosen = data.draw(st.lists(st.integers(0, max(0, len(joined) - 1)), max_size=20) if len(joined) else st.just([]))
    taken = joined.take(np.array(chosen, np.intp))
    assert taken.rows() == [(first + second)[index] for index in chosen]
    assert taken.message.tolist() == [(messages_a + messages_b)[index] for index in chosen]


# ---------------------------------------------------------------------------------------------------------------
# 5. EnergyColumns.add_columns == add_row


@st.composite
def energy_rows(draw: st.DrawFn) -> list[Row]:
    start_us = 1_795_600_000_000_000
    found: list[Row] = []
    counters: dict[tuple[str, int], float] = {}
    for _ in range(draw(st.integers(0, 80))):
        device = draw(st.sampled_from(DEVICES[:3]))
        channel = draw(st.none() | st.integers(0, 3))
        ts_us = start_us + draw(st.integers(0, 3 * 3600)) * 1_000_000 + draw(st.integers(0, 999_999))
        generation = Generation.GEN2 if device == GEN2_DEVICE or draw(st.integers(0, 9)) == 0 else Generation.GEN1
        if channel is None:
            found.append((device, None, ts_us, ts_us // 1000, generation, {"online": draw(st.booleans())}))
            continue
        values: dict[str, Any] = {}
        if draw(st.booleans()):
            values["power_w"] = draw(st.floats(-5000, 5000) | st.just(math.nan))
        if draw(st.booleans()):
            total = counters.get((device, channel), 1000.0) + draw(st.floats(-10, 500))
            counters[(device, channel)] = total
            values["energy_total_wh"] = total
        if draw(st.integers(0, 3)) == 0:
            values["energy_returned_total_wh"] = draw(st.floats(0, 1e6) | st.just(math.nan))
        if draw(st.integers(0, 3)) == 0:
            values["voltage_v"] = 230.0
        received_ms = ts_us // 1000 + draw(st.integers(-5, 5000))
        found.append((device, channel, ts_us, received_ms, generation, values))
    return found


@SLOW
@given(
    batches=st.lists(energy_rows(), min_size=1, max_size=3),
    method=st.sampled_from(["auto", "trapezoid", "locf", "counter"]),
    tz=st.sampled_from(["UTC", "Europe/Zurich"]),
)
def test_energy_columns_add_columns_equals_add_row_of_each_row(batches: list[list[Row]], method: str, tz: str) -> None:
    # Given rows of several devices and channels interleaved (device-level rows, NaN and missing quantities), in
    # one or more batches
    by_row, by_columns = EnergyColumns(), EnergyColumns()
    for batch in batches:
        for row in batch:
            by_row.add_row(row)
        # When added as columns
        by_columns.add_columns(RowColumns.from_rows(batch, list(range(len(batch)))))
    # Then the engine computes exactly the same result
    assert len(by_row) == len(by_columns)
    assert repr(by_columns.compute(tz=tz, method=method)) == repr(by_row.compute(tz=tz, method=method))


# ---------------------------------------------------------------------------------------------------------------
# 6. typed_capture_columns == typed_capture

RECEIVED_AT_TEXTS = [
    str(RECEIVED_MS / 1000),
    str(RECEIVED_MS // 1000),
    str(RECEIVED_MS / 1000 + 0.0005),
    "1795780740.0015",
    str(MIN_TIMESTAMP_MS / 1000),
    str(MIN_TIMESTAMP_MS / 1000 - 0.001),
    str(WINDOW_END_MS / 1000),
    str(WINDOW_END_MS / 1000 + 0.001),
    "true",
    "false",
    "null",
    '"1795780740"',
    "1e308",
    "-1e308",
    "NaN",
    "Infinity",
    '"NaN"',
    "1" * 400,
    "0",
    "-1",
    "[1]",
    "{}",
    "1795780740.0005",
    "1795780740.0025",
]
TOPIC_TEXTS = ['"shellies/x/emeter/0/power"', '""', "5", "null", '"a\\u00e9"', '"\\ud800"', "[]"]
PAYLOAD_TEXTS = ['"12.5"', '""', "12.5", "null", '{"a": 1}', '"\\u0000"', '"\\ud800x"', "true"]


@st.composite
def capture_lines(draw: st.DrawFn) -> bytes | str:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.sampled_from(["", "{", "[]", "null", "{}", '{"topic": "t"}', "nan", "\xff"]))
    parts = {
        "topic": draw(st.sampled_from(TOPIC_TEXTS)),
        "payload": draw(st.sampled_from(PAYLOAD_TEXTS)),
        "received_at": draw(
            st.sampled_from(RECEIVED_AT_TEXTS)
            | st.floats(allow_nan=False, allow_infinity=False).map(repr)
            | st.floats(MIN_TIMESTAMP_MS / 1000, WINDOW_END_MS / 1000).map(repr)
        ),
    }
    keys = draw(st.permutations(list(parts)))
    dropped = draw(st.sampled_from([None, None, None, *parts]))
    extra = ', "x": 1' if draw(st.booleans()) else ""
    text = "{" + ", ".join(f'"{key}": {parts[key]}' for key in keys if key != dropped) + extra + "}"
    as_bytes = draw(st.booleans())
    return text.encode("utf-8", "surrogatepass") if as_bytes else text


@QUICK
@given(lines=st.lists(capture_lines(), max_size=40))
@example(lines=['{"topic": "t", "payload": "p", "received_at": 1795780740.0005}'])
@example(
    lines=['{"topic": "t", "payload": "p", "received_at": 1e308}', '{"topic": "", "payload": "", "received_at": 1}']
)
def test_typed_capture_columns_equals_typed_capture_per_line(lines: list[bytes | str]) -> None:
    # Given capture lines, good and odd (received_at: bools, strings, 1e308, NaN, out of the window; empty topic…)
    # When read as columns
    columns = typed_capture_columns(lines, now_ms=NOW_MS)
    # Then the accepted lines are typed_capture's, in order, and the refused positions the lines it refuses
    singles = [typed_capture(line, now_ms=NOW_MS) for line in lines]
    accepted = [single for single in singles if single is not None]
    assert list(zip(columns.topics, columns.payloads, columns.received_ms, strict=True)) == [
        (single.topic, single.payload, single.received_ms) for single in accepted
    ]
    assert all(type(value) is int for value in columns.received_ms)
    assert columns.refused == [index for index, single in enumerate(singles) if single is None]


@QUICK
@given(
    lines=st.lists(
        capture_lines().map(lambda line: line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass"))
        | st.sampled_from([b"", b" ", b"\r ", b"\t{}", b"{} {}", b"[1]"]),
        max_size=30,
    ).map(lambda lines: [line for line in lines if b"\n" not in line and not line.endswith(b"\r")]),
    crlf=st.booleans(),
)
def test_typed_capture_columns_of_a_block_equal_those_of_its_lines(lines: list[bytes], crlf: bool) -> None:
    # Given capture lines, good, odd, blank or holding two values, as one block (CRLF or LF), and the first alone
    # as a file's last line (no break); a line's own final \r is a CRLF's, so none ends with one
    ending = b"\r\n" if crlf else b"\n"
    blocks = [(BlockLines(b"".join(line + ending for line in lines), len(lines)), lines)]
    if lines:
        blocks.append((BlockLines(lines[0], 1), lines[:1]))
    for block, its_lines in blocks:
        # When read as columns from the block (one decoder call when each line holds one capture) and line by line
        # Then the same
        assert list(block) == its_lines
        assert typed_capture_columns(block, now_ms=NOW_MS) == typed_capture_columns(its_lines, now_ms=NOW_MS)


# ---------------------------------------------------------------------------------------------------------------
# 7. LineReader.raw_blocks == raw_lines


def read_all(reader: LineReader, read: Callable[[LineReader], Iterator[tuple[int, bytes]]]) -> tuple[Any, ...]:
    got: list[tuple[int, bytes]] = []
    error: str | None = None
    try:
        got.extend(read(reader))
    except InputTooLarge as exc:
        error = str(exc)
    return got, reader.truncated, error, reader.lines_read if error is None else None


def flat_blocks(block_size: int) -> Callable[[LineReader], Iterator[tuple[int, bytes]]]:
    def read(reader: LineReader) -> Iterator[tuple[int, bytes]]:
        for first, lines in reader.raw_blocks(block_size):
            yield from enumerate(lines, start=first)

    return read


line_texts = st.lists(
    st.sampled_from([b"", b"a", b"{}", b"line with \xff bytes", b"x" * 37, b"\r", b"a\r", b"\ra"])
    | st.binary(max_size=20),
    max_size=25,
)


@QUICK
@given(
    pieces=line_texts,
    crlf=st.booleans(),
    final_newline=st.booleans(),
    compressed=st.booleans(),
    cut=st.none() | st.integers(0, 400),
    block_size=st.integers(1, 64),
    max_bytes=st.none() | st.integers(1, 400),
)
def test_raw_blocks_give_the_lines_of_raw_lines(
    tmp_path_factory: pytest.TempPathFactory,
    pieces: list[bytes],
    crlf: bool,
    final_newline: bool,
    compressed: bool,
    cut: int | None,
    block_size: int,
    max_bytes: int | None,
) -> None:
    # Given a plain or gzip file (perhaps truncated) of lines with \n or \r\n, blank lines, perhaps no final newline
    pieces = [piece.replace(b"\n", b"") for piece in pieces]
    content = (b"\r\n" if crlf else b"\n").join(pieces) + (b"\n" if final_newline and pieces else b"")
    if compressed:
        content = gzip.compress(content, mtime=0)
        if cut is not None:
            content = content[: max(2, cut)]
    path: Path = tmp_path_factory.mktemp("lines") / "input"
    path.write_bytes(content)
    # When read line by line and block by block (small blocks)
    by_line = read_all(LineReader(path, max_bytes=max_bytes), lambda reader: reader.raw_lines(block_size))
    by_block = read_all(LineReader(path, max_bytes=max_bytes), flat_blocks(block_size))
    # Then the same numbered lines, the same truncation, the same InputTooLarge message
    if by_line[2] is None:
        assert by_block == by_line
    else:  # stopped by the limit: the same message; the lines read before it (whole blocks) are a prefix
        assert by_block[1:] == by_line[1:]
        assert by_block[0] == by_line[0][: len(by_block[0])]


# ---------------------------------------------------------------------------------------------------------------
# Disagreements the first version of these tests found (the batch path gave rows where the per-message parser
# quarantines), kept as regressions.


def test_a_null_meter_component_next_to_a_good_one_is_wrong_type_as_per_message() -> None:
    # Given a NotifyStatus whose em1:0 is null and whose em1:1 carries a value
    message = (RPC, RECEIVED_MS, '{"method":"NotifyStatus","params":{"em1:0":null,"em1:1":{"act_power":5}}}', None)
    # When parsed message by message it is quarantined as wrong_type ("em1:0: expected an object")...
    expected = per_message([message])
    assert isinstance(expected[0], QuarantineRecord) and expected[0].reason == "wrong_type"
    # ...and the batch says the same (it once gave a row of channel 1)
    assert batch_of([message]) == expected


def test_an_envelope_nesting_too_deep_in_an_unknown_key_is_too_deep_as_per_line() -> None:
    # Given an envelope line whose unknown key nests 33 arrays (the line nests 34 deep: over the limit of 33)
    line = b'{"topic":"%s","received_ms":%d,"payload":"12.5","x":%s}' % (
        gen1_topic().encode(),
        RECEIVED_MS,
        b"[" * 33 + b"]" * 33,
    )
    # When parsed line by line it is quarantined as too_deep...
    expected = parse_object_rows(line, now_ms=NOW_MS)
    assert isinstance(expected[0], QuarantineRecord) and expected[0].reason == "too_deep"
    assert parse_line_rows(line, now_ms=NOW_MS) == expected[0]
    # ...and the batch says the same (it once gave the power row)
    assert outcomes_of(parse_object(line, now_ms=NOW_MS)) == expected


def test_an_envelope_nesting_32_deep_in_an_unknown_key_is_read_by_both() -> None:
    line = b'{"topic":"%s","received_ms":%d,"payload":"12.5","x":%s}' % (
        gen1_topic().encode(),
        RECEIVED_MS,
        b"[" * 32 + b"]" * 32,
    )
    assert_object_agrees(line)
    assert isinstance(parse_object_rows(line, now_ms=NOW_MS)[0], list)


def test_an_envelope_with_invalid_utf8_in_an_unknown_key_is_malformed_as_per_line() -> None:
    # Given an envelope line whose unknown key's string holds the byte 0xff (not UTF-8)
    line = b'{"topic":"%s","received_ms":%d,"payload":"12.5","x":"\xff"}' % (gen1_topic().encode(), RECEIVED_MS)
    # When parsed line by line it is quarantined as malformed_envelope...
    expected = parse_object_rows(line, now_ms=NOW_MS)
    assert isinstance(expected[0], QuarantineRecord) and expected[0].reason == "malformed_envelope"
    # ...and the batch says the same (it once gave the power row)
    assert outcomes_of(parse_object(line, now_ms=NOW_MS)) == expected


def test_an_envelope_with_an_invalid_utf8_unknown_key_name_is_malformed_as_per_line() -> None:
    line = b'{"topic":"%s","received_ms":%d,"payload":"12.5","\xc0\x80":1}' % (gen1_topic().encode(), RECEIVED_MS)
    expected = parse_object_rows(line, now_ms=NOW_MS)
    assert isinstance(expected[0], QuarantineRecord) and expected[0].reason == "malformed_envelope"
    assert outcomes_of(parse_object(line, now_ms=NOW_MS)) == expected
