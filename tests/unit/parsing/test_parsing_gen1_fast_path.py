"""The Gen1 emeter fast path (`gen1.emeter_scalar_b64`) gives exactly what the general path gives, or defers to it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shelly_cases import NOW_MS, RECEIVED_MS

from wattline.models import Generation, ParseOutcome, Reading
from wattline.parsing import gen1, limits, parse_line

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

QUANTITIES = [*gen1.EMETER_TOPIC_FIELDS, *gen1.VOLATILE_COUNTER_TOPICS, "Power", "power ", "", "bogus"]
DEVICES = ["shellyem3-68C63AFAF952", "shellyem-B8D6E3", "a", "bad..id", ".hidden", "x" * 65, "dev\n", "dév", ""]
CHANNELS = ["0", "1", "2", "00", "07", "10", "99", "100", "-1", "x", "", "٣", " 1"]
BOUNDARIES = [
    "-100000",
    "-100000.01",
    "100000",
    "100000.01",
    "500",
    "500.01",
    "1000",
    "1000.001",
    "1",
    "1.0000001",
    "-1.0000001",
    "-0.001",
    "1000000000000",
    "1000000000001",
]
NUMBERS = [
    *BOUNDARIES,
    "611.53",
    "0",
    "-0.00",
    "-1",
    "-1.0",
    "1e3",
    "1e999",
    "+5",
    ".5",
    "5.",
    " 12.5 ",
    "\t7\n",
    "nan",
    "-inf",
    "Infinity",
    "abc",
    "",
    "1_000",
    "0x10",
    "１２",
]

numbers = st.sampled_from(NUMBERS) | st.from_regex(
    r"[-+ ]?[0-9]{0,7}(\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
b64_texts = st.one_of(
    numbers.map(lambda text: base64.b64encode(text.encode()).decode()),
    numbers.map(lambda text: base64.b64encode(text.encode()).decode()),
    st.binary(max_size=12).map(lambda data: base64.b64encode(data).decode()),
    st.sampled_from(["", "!!", "MTIz", "MTIz=", "MT Iz", "MTIz\n", "TWFu==", "w6k=", "éé"]),
)
real_topics = st.builds(
    "shellies/{}/emeter/{}/{}".format,
    st.sampled_from(DEVICES[:3]),
    st.sampled_from(["0", "1", "2"]),
    st.sampled_from(list(gen1.EMETER_TOPIC_FIELDS)),
)
mutated_topics = st.builds(
    lambda root, device, middle, channel, quantity, extra: "/".join([root, device, middle, channel, quantity, *extra]),
    st.sampled_from(["shellies", "shellies", "shellies", "Shellies", "shelly"]),
    st.sampled_from(DEVICES) | st.text(max_size=8),
    st.sampled_from(["emeter", "emeter", "emeter", "relay", "meter"]),
    st.sampled_from(CHANNELS),
    st.sampled_from(QUANTITIES),
    st.lists(st.sampled_from(["x", "total"]), max_size=1),
)
topics = st.one_of(real_topics, real_topics, mutated_topics)
received = st.sampled_from(
    [RECEIVED_MS, limits.MIN_TIMESTAMP_MS, limits.MIN_TIMESTAMP_MS - 1, NOW_MS + limits.MAX_FUTURE_MS]
) | st.integers(min_value=limits.MIN_TIMESTAMP_MS - 10, max_value=NOW_MS + limits.MAX_FUTURE_MS + 10)


@contextmanager
def general_path_only() -> Iterator[None]:
    with mock.patch.object(gen1, "emeter_scalar_b64", lambda *_args: None):
        yield


def line_of(topic: str, received_ms: int, payload_b64: str) -> bytes:
    return json.dumps({"payload_b64": payload_b64, "received_ms": received_ms, "topic": topic}).encode()


def test_every_gen1_quantity_and_boundary_value_gives_the_same_outcome_on_both_paths() -> None:
    # Given every Gen1 emeter quantity on every channel with each boundary, odd and ordinary number text
    lines = [
        line_of(f"shellies/shellyem3-68C63AFAF952/emeter/{channel}/{quantity}", received_ms, b64)
        for channel in ("0", "1", "2", "07")
        for quantity in QUANTITIES
        for b64 in [base64.b64encode(text.encode()).decode() for text in NUMBERS]
        for received_ms in (RECEIVED_MS, limits.MIN_TIMESTAMP_MS - 1)
    ]
    # When each is parsed with the fast path, and with the general path only
    fast = [parse_line(line, now_ms=NOW_MS) for line in lines]
    with general_path_only():
        general = [parse_line(line, now_ms=NOW_MS) for line in lines]
    # Then every outcome is the same
    assert fast == general


@PROPERTY
@given(topic=topics, received_ms=received, payload_b64=b64_texts)
def test_parse_line_gives_the_same_outcome_with_and_without_the_fast_path(
    topic: str, received_ms: int, payload_b64: str
) -> None:
    # Given a real-shaped Gen1 envelope line, or a mutation of one
    line = line_of(topic, received_ms, payload_b64)
    # When it is parsed with the fast path, and with the general path only
    fast = parse_line(line, source_key="k", now_ms=NOW_MS)
    with general_path_only():
        general = parse_line(line, source_key="k", now_ms=NOW_MS)
    # Then the outcomes are equal: the same reading, or the same quarantine record and reason
    assert fast == general


@PROPERTY
@given(topic=topics, received_ms=received, payload_b64=b64_texts)
def test_the_fast_path_answers_only_for_a_message_the_general_path_turns_into_that_one_reading(
    topic: str, received_ms: int, payload_b64: str
) -> None:
    # Given a real-shaped Gen1 envelope, or a mutation of one
    # When the fast path looks at it
    fast = gen1.emeter_scalar_b64(topic, received_ms, payload_b64, NOW_MS)
    with general_path_only():
        general: ParseOutcome = parse_line(line_of(topic, received_ms, payload_b64), now_ms=NOW_MS)
    # Then it answers exactly when the general path gives a reading, and with that reading's values
    if fast is None:
        assert general.quarantined is not None
        return
    device_id, channel, field, value = fast
    expected = Reading(
        device_id=device_id,
        channel=channel,
        ts=datetime.fromtimestamp(received_ms / 1000, tz=UTC),
        received_ms=received_ms,
        generation=Generation.GEN1,
        **{field: value},
    )
    assert [reading.model_dump() for reading in general.readings] == [expected.model_dump()]


def test_a_plain_gen1_power_message_takes_the_fast_path() -> None:
    # Given the dominant message: a Gen1 emeter power value as the IoT rule stores it
    payload_b64 = base64.b64encode(b"611.53").decode()
    # When the fast path looks at it
    fast = gen1.emeter_scalar_b64("shellies/shellyem-B8D6E3/emeter/1/power", RECEIVED_MS, payload_b64, NOW_MS)
    # Then it gives the reading's values
    assert fast == ("shellyem-B8D6E3", 1, "power_w", 611.53)


def test_a_counter_reported_as_minus_one_is_left_to_the_general_path() -> None:
    # Given a total counter of -1 (not available after a reboot), which the general path quarantines
    payload_b64 = base64.b64encode(b"-1").decode()
    # When the fast path looks at it
    fast = gen1.emeter_scalar_b64("shellies/shellyem-B8D6E3/emeter/0/total", RECEIVED_MS, payload_b64, NOW_MS)
    # Then it defers (the general path gives the counter_unavailable record)
    assert fast is None
