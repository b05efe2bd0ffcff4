"""The aggregator's dedup rule (`aggregation.dedup`, which decodes a payload only for an identity seen before)
drops exactly what the rule written plainly drops; a day framed and deduplicated in columns (`stored_envelopes`)
keeps exactly what `split_object` + `dedup` keep."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
from aggregation_helpers import DAY_START_MS, GEN1_DEVICE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline import aggregation
from wattline.aggregation.dedup import split_object, stored_envelopes
from wattline.formats.frames import envelope_line

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_dedup(envelopes: list[aggregation.RawEnvelope], window_ms: int) -> tuple[list[object], int]:
    """The dedup rule written plainly: device-time frames once ever, everything else once per window."""
    kept: list[object] = []
    seen_timed: set[tuple[str, str]] = set()
    last_kept_ms: dict[tuple[str, str], int] = {}
    dropped = 0
    for envelope in sorted(envelopes, key=lambda e: (e.received_ms, e.source_key, e.line_no)):
        timed, topic, payload = aggregation.dedup_key(envelope)
        identity = (topic, payload)
        if timed:
            if identity in seen_timed:
                dropped += 1
                continue
            seen_timed.add(identity)
        else:
            previous = last_kept_ms.get(identity)
            if previous is not None and envelope.received_ms - previous <= window_ms:
                dropped += 1
                continue
            last_kept_ms[identity] = envelope.received_ms
        kept.append(envelope)
    return kept, dropped


FRAMES = [
    b'{"method":"NotifyStatus","params":{"ts":1764201599.9,"em1:0":{"act_power":1.5}}}',
    b'{"method":"NotifyStatus","params":{"ts":1764201600,"em1:0":{"act_power":1.5}}}',
    b'{"method":"NotifyStatus","params":{"em1:0":{"act_power":1.5}}}',
    b'{"method":"NotifyStatus","params":{"ts":"1764201600"}}',
    b"611.53",
    b"not json",
]
raw_envelopes = st.builds(
    lambda topic, frame, embed, received_ms, key, line: aggregation.RawEnvelope(
        received_ms,
        key,
        line,
        topic,
        json.loads(frame) if embed and frame.startswith(b"{") else None,
        None if embed and frame.startswith(b"{") else base64.b64encode(frame).decode(),
    ),
    st.sampled_from(["d/events/rpc", f"shellies/{GEN1_DEVICE}/emeter/0/power", "d/status/em1:0"]),
    st.sampled_from(FRAMES),
    st.booleans(),
    st.integers(min_value=DAY_START_MS, max_value=DAY_START_MS + 10_000),
    st.sampled_from(["a", "b", "c"]),
    st.integers(min_value=0, max_value=50),
)


@PROPERTY
@given(envelopes=st.lists(raw_envelopes, max_size=40, unique_by=lambda e: (e.source_key, e.line_no)))
def test_dedup_drops_exactly_what_the_plain_rule_drops(envelopes: list[aggregation.RawEnvelope]) -> None:
    # Given envelopes with repeated topics and payloads, timed and untimed, stored as base64 or embedded JSON
    # When they are deduplicated, and deduplicated by the plain rule
    # Then the same envelopes are kept and the same number dropped
    assert aggregation.dedup(envelopes, 2_000) == reference_dedup(envelopes, 2_000)


stored_lines = st.builds(
    lambda topic, frame, received_ms: (topic, received_ms, base64.b64encode(frame).decode()),
    st.sampled_from(["d/events/rpc", f"shellies/{GEN1_DEVICE}/emeter/0/power", "d/status/em1:0"]),
    st.sampled_from(FRAMES),
    st.integers(min_value=DAY_START_MS, max_value=DAY_START_MS + 10_000),
)


@PROPERTY
@given(objects=st.lists(st.lists(stored_lines, min_size=1, max_size=15), min_size=1, max_size=4))
def test_a_day_deduplicated_in_columns_keeps_what_split_object_and_dedup_keep(
    objects: list[list[tuple[str, int, str]]],
) -> None:
    # Given a day's raw objects of payload_b64 envelope lines (repeats, timed and untimed, equal receive times)
    raw = [
        (f"raw/key-{number}", "\n".join(envelope_line(t, ms, None, b64) for t, ms, b64 in lines).encode())
        for number, lines in enumerate(objects)
    ][::-1]  # (listed in any order: the receive order sorts them by key)
    # When it is framed and deduplicated in columns, and envelope by envelope
    columns = stored_envelopes(raw, 2_000)
    kept, dropped = aggregation.dedup([e for key, data in raw for e in split_object(data, key)[0]], 2_000)
    # Then the same envelopes are kept, in the same order, and the same number dropped
    assert columns is not None
    assert columns.duplicates == dropped
    assert list(zip(columns.topics, columns.received_ms, columns.payloads_b64, strict=True)) == [
        (e.topic, e.received_ms, e.payload_b64) for e in kept
    ]
    # …and each kept envelope's origin is its place among all the day's envelopes, objects in key order
    starts = itertools.accumulate([0] + [len(lines) for lines in objects])  # (key-0, key-1, …: in key order)
    first_line = dict(zip(sorted(key for key, _data in raw), starts, strict=False))
    assert columns.origins.tolist() == [first_line[e.source_key] + e.line_no for e in kept]


def _line(received_ms: int, payload: bytes = b"1.5") -> str:
    topic = f"shellies/{GEN1_DEVICE}/emeter/0/power"
    return envelope_line(topic, received_ms, None, base64.b64encode(payload).decode())


@pytest.mark.parametrize(
    ("data", "in_columns"),
    [
        (f"{_line(DAY_START_MS)}\n{_line(DAY_START_MS + 1)}\n", True),
        (f"{_line(DAY_START_MS)}\r\n{_line(DAY_START_MS + 1)}", True),  # CRLF, no final newline
        (f"{_line(DAY_START_MS)}\n\n{_line(DAY_START_MS + 1)}\n", False),  # a blank line
        (f"{_line(DAY_START_MS)} {_line(DAY_START_MS + 1)}\n", False),  # two envelopes on one line
        # two on one line and a blank line: as many values as lines
        (f"{_line(DAY_START_MS)} {_line(DAY_START_MS + 1)}\n\n{_line(DAY_START_MS + 2)}\n", False),
        (f"{_line(DAY_START_MS)}{_line(DAY_START_MS + 1)}\n \n", False),  # …and a line of white space
        (f" {_line(DAY_START_MS)}\n", False),  # a line beginning with white space
        (json.dumps(json.loads(_line(DAY_START_MS)), indent=2), False),  # one envelope pretty-printed
        (f'{_line(DAY_START_MS)}\n{{"topic": 1}}\n', False),  # a line the typed decoder refuses
    ],
)
def test_an_object_is_framed_in_columns_only_when_each_line_is_one_stored_envelope(data: str, in_columns: bool) -> None:
    # Given a raw object framed unusually (or not)
    raw = [("raw/key", data.encode())]
    # When it is framed in columns
    columns = stored_envelopes(raw, 2_000)
    # Then only a line-per-envelope object is, and it keeps what split_object + dedup keep; the rest goes line by line
    assert (columns is not None) == in_columns
    if columns is not None:
        kept, dropped = aggregation.dedup(split_object(raw[0][1], "raw/key")[0], 2_000)
        assert (columns.topics, columns.received_ms, columns.duplicates) == (
            [e.topic for e in kept],
            [e.received_ms for e in kept],
            dropped,
        )
