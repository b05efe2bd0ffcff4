"""The block envelope writer agrees with its one-line version: `envelope_lines` is `envelope_line` on every
message."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.formats.frames import envelope_line, envelope_lines

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


topics = st.text(max_size=12) | st.sampled_from(["shellies/shellyem-B8D6E3/emeter/0/power", 'a"b\\c', "é/\x7f/\x00"])
messages = st.lists(
    st.tuples(topics, st.integers(min_value=0, max_value=2**53), st.binary(max_size=40)),
    max_size=20,
)


@PROPERTY
@given(block=messages)
def test_the_block_of_envelope_lines_is_each_envelope_line_in_turn(block: list[tuple[str, int, bytes]]) -> None:
    # Given messages with any topic text (quotes, backslashes, control and non-ASCII characters) and payload bytes
    # When their envelope lines are written at once
    written = envelope_lines([t for t, _, _ in block], [ms for _, ms, _ in block], [p for _, _, p in block])
    # Then they are the one-message lines, each followed by a newline
    expected = b"".join(
        envelope_line(topic, ms, None, base64.b64encode(payload).decode("ascii")).encode("ascii") + b"\n"
        for topic, ms, payload in block
    )
    assert written == expected
