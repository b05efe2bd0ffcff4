"""The aggregator's dedup rule (`aggregation.dedup`, which decodes a payload only for an identity seen before)
drops exactly what the rule written plainly drops."""

from __future__ import annotations

import base64
import json

from aggregation_helpers import DAY_START_MS, GEN1_DEVICE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline import aggregation

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
