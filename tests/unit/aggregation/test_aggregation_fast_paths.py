"""The aggregator's fast paths (line framing by pattern, Gen1 lines without a Reading) change no byte of its output."""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest import mock

from aggregation_helpers import DAY_START_MS, GEN1_DEVICE, aggregate_bytes, fixture_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline import aggregation
from wattline.aggregation import split_object
from wattline.models import Generation, Reading, format_ts
from wattline.parsing import gen1

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NEVER = re.compile(rb"(?!)")


@contextmanager
def general_paths_only() -> Iterator[None]:
    """The aggregator with every fast path off: JSON-decoded framing, a Reading per message."""
    with (
        mock.patch.object(aggregation, "_B64_LINE_SORTED", NEVER),
        mock.patch.object(aggregation, "_B64_LINE_RULE", NEVER),
        mock.patch.object(aggregation, "emeter_scalar_b64", lambda *_args: None),
        mock.patch.object(gen1, "emeter_scalar_b64", lambda *_args: None),
    ):
        yield


def envelope_line(topic: str, received_ms: int, payload: bytes, *, style: str = "sorted") -> bytes:
    b64 = base64.b64encode(payload).decode()
    if style == "sorted":
        return json.dumps(
            {"payload_b64": b64, "received_ms": received_ms, "topic": topic}, separators=(",", ":")
        ).encode()
    if style == "rule":
        return json.dumps(
            {"topic": topic, "received_ms": received_ms, "payload_b64": b64}, separators=(",", ":")
        ).encode()
    if style == "spaced":
        return json.dumps({"payload_b64": b64, "received_ms": received_ms, "topic": topic}).encode()
    return json.dumps(
        {"payload": payload.decode("utf-8", "replace"), "received_ms": received_ms, "topic": topic}
    ).encode()


def messy_day(seed: int) -> list[bytes]:
    """A Gen1 3EM day with redeliveries, bad values, bad ids, odd framing, same-instant values and real payloads."""
    rnd = random.Random(seed)
    quantities = [*gen1.EMETER_TOPIC_FIELDS, "energy", "bogus"]
    values = [b"611.53", b"230.1", b"0.85", b"-0.00", b"0", b"-1", b"abc", b"nan", b"1e9", b" 12.5 ", b"\xff", b""]
    lines: list[bytes] = []
    for number in range(600):
        channel = rnd.choice(["0", "1", "2", "0", "1", "2", "07", "x"])
        device = rnd.choice([GEN1_DEVICE, GEN1_DEVICE, GEN1_DEVICE, "bad..id"])
        topic = f"shellies/{device}/emeter/{channel}/{rnd.choice(quantities)}"
        received_ms = DAY_START_MS + rnd.randrange(0, 86_000_000) if number % 50 else 1_000
        style = rnd.choice(["sorted", "sorted", "sorted", "rule", "spaced", "text"])
        line = envelope_line(topic, received_ms, rnd.choice(values), style=style)
        lines.append(line + b"\r" if number % 97 == 0 else line)
        if number % 13 == 0:  # a redelivery, inside or outside the dedup window
            lines.append(envelope_line(topic, received_ms + rnd.choice([0, 400, 5_000]), b"611.53"))
    for number in range(40):  # two messages with the same instant and channel: the file keeps one observation
        topic = f"shellies/{GEN1_DEVICE}/emeter/1/power"
        lines += [envelope_line(topic, DAY_START_MS + number * 333, payload) for payload in (b"100", b"100.0")]
        lines.append(envelope_line(topic, DAY_START_MS + number * 333, b"100", style="text"))
    for record in fixture_records():
        if record["topic"] and record.get("raw_text"):
            lines.append(
                envelope_line(record["topic"], DAY_START_MS + rnd.randrange(86_000_000), record["raw_text"].encode())
            )
    lines += [b"not json", b"{}", b'{"topic":"x","received_ms":1}']
    rnd.shuffle(lines)
    return lines


def test_a_messy_gen1_day_aggregates_to_the_same_bytes_with_and_without_the_fast_paths() -> None:
    for seed, per_object in ((1, 200), (2, 1), (3, 5_000)):
        # Given a messy day stored in batches (and once one message per object)
        lines = messy_day(seed)
        # When it is aggregated with the fast paths, and with the general paths only
        fast = aggregate_bytes(lines, per_object, GEN1_DEVICE)
        with general_paths_only():
            general = aggregate_bytes(lines, per_object, GEN1_DEVICE)
        # Then the daily file, manifest, aggregation state and counts are byte-identical
        assert fast == general
        assert fast[3]["quarantined"] and fast[3]["duplicates"]


topics = st.sampled_from(
    [
        f"shellies/{GEN1_DEVICE}/emeter/0/power",
        "shellyproem50-08f9e0e67204/events/rpc",
        "a b/c",
        "",
        'quote"d',
        "back\\slash",
        "tab\there",
        "dé",
        "\u2028",
        "x" * 200,
    ]
) | st.text(max_size=12)


@PROPERTY
@given(
    topic=topics,
    received_ms=st.integers(min_value=-5, max_value=2**70) | st.just(DAY_START_MS),
    payload=st.binary(max_size=10),
    style=st.sampled_from(["sorted", "rule", "spaced", "text"]),
    suffix=st.sampled_from([b"", b" ", b"\r", b"\t", b"\x1c", b"x", b"}"]),
    prefix=st.sampled_from([b"", b"", b" ", b"\xef\xbb\xbf"]),
)
def test_framing_a_line_by_pattern_gives_what_json_decoding_gives(
    topic: str, received_ms: int, payload: bytes, style: str, suffix: bytes, prefix: bytes
) -> None:
    # Given an envelope line as a rule, the bridge or an importer writes it, perhaps with stray bytes around it
    line = prefix + envelope_line(topic, received_ms, payload, style=style) + suffix
    data = b"\n".join([line, line])
    # When the object is framed with the pattern fast path, and with JSON decoding only
    fast = split_object(data, "k")
    with general_paths_only():
        general = split_object(data, "k")
    # Then both give the same envelopes and the same malformed lines
    assert fast == general


@PROPERTY
@given(
    channel=st.integers(min_value=0, max_value=99),
    field=st.sampled_from(sorted(gen1.EMETER_TOPIC_FIELDS.values())),
    value=st.floats(allow_nan=False, allow_infinity=False),
    received_ms=st.integers(min_value=1_420_070_400_000, max_value=4_102_444_800_000),
    device_id=st.sampled_from([GEN1_DEVICE, "a", "shellyem-B8D6E3", "x_y.z-1"]),
)
def test_the_gen1_line_built_without_a_reading_is_the_readings_own_json_line(
    channel: int, field: str, value: float, received_ms: int, device_id: str
) -> None:
    # Given a Gen1 emeter reading's values as the fast path gives them
    reading = Reading(
        device_id=device_id,
        channel=channel,
        ts=gen1.ts_from_ms(received_ms),
        received_ms=received_ms,
        generation=Generation.GEN1,
        **{field: value},
    )
    # When its daily line and timestamp text are built from the template and the per-minute cache
    ts_text = aggregation._TsTexts().text(received_ms)
    line = aggregation._GEN1_LINES[field].format(channel, aggregation._json_str(device_id), value, received_ms, ts_text)
    # Then they are exactly the Reading's own JSON line and formatted timestamp
    assert (ts_text, line) == (format_ts(reading.ts), reading.to_json_line())


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


def real_readings() -> list[Reading]:
    from wattline.bridge import raw_records
    from wattline.parsing import parse_object

    lines = [
        record.line
        for item in fixture_records()
        if item["topic"] and item.get("raw_text")
        for record in raw_records(item["topic"], item["raw_text"].encode(), DAY_START_MS + 1_234)
    ]
    return [r for line in lines for outcome in parse_object(line, now_ms=DAY_START_MS) for r in outcome.readings]


def test_every_real_readings_daily_line_and_timestamp_are_its_own_json_line_and_format_ts() -> None:
    # Given the readings of every real MQTT-shaped payload (Gen1 and Gen2, device time and receive time)
    readings = real_readings()
    assert len(readings) > 30 and {reading.generation for reading in readings} == set(Generation)
    texts = aggregation._TsTexts()
    # When each becomes a daily-file item with the shared timestamp cache and the prebuilt encoder
    items = [aggregation._reading_item(reading, seq, texts) for seq, reading in enumerate(readings)]
    # Then its line and timestamp text are exactly the Reading's own
    assert [(item[5], item[3]) for item in items] == [(format_ts(r.ts), r.to_json_line()) for r in readings]


@PROPERTY
@given(seconds=st.floats(min_value=1_420_070_400, max_value=4_102_444_800))
def test_the_cached_timestamp_text_of_a_device_time_is_format_ts(seconds: float) -> None:
    # Given a Gen2 device time (`params.ts`, seconds with a fraction) as the parser turns it into a datetime
    ts = datetime.fromtimestamp(seconds, tz=UTC)
    # When its text comes from the per-minute cache, through microseconds since the epoch
    us = (ts - aggregation._EPOCH) // aggregation._ONE_US
    # Then it is format_ts of that datetime
    assert aggregation._TsTexts().text_us(us) == format_ts(ts)
