"""A block of lines decoded by one call (`formats.blocks.decode_each_line`) is each line decoded alone, or None when
some line is not exactly one value: checked against that rule written plainly, for blocks of a few lines (read
without numpy) and of many."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattline.formats.blocks import decode_each_line
from wattline.formats.frames import STORED_ENVELOPE, StoredEnvelope, envelope_line

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = [envelope_line(f"d{n}/events/rpc", 1_795_000_000_000 + n, None, "e30=").encode() for n in range(3)]
# (the halves of an envelope cut before a key: one value over two lines, which with a line of two values would make
# as many values as lines)
HALVES = [GOOD[2][: GOOD[2].index(b'"received_ms"')], GOOD[2][GOOD[2].index(b'"received_ms"') :]]
ODD = [b"", b" ", b"\r", GOOD[0] + b"\r", GOOD[1] + b" ", b" " + GOOD[1], GOOD[0] + b" " + GOOD[1], GOOD[0] + GOOD[1]]
ODD += HALVES
ODD += [b"{}", b"[1]", b"\x00"]


def plainly(data: bytes, max_line_bytes: int | None) -> list[StoredEnvelope] | None:
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    if not lines or not all(line[:1] == b"{" and line.removesuffix(b"\r").endswith(b"}") for line in lines):
        return None  # (each line one object, begun and ended on it; so never blank nor led by white space)
    if max_line_bytes is not None and max(map(len, lines)) > max_line_bytes:
        return None
    try:
        return [STORED_ENVELOPE.decode(line) for line in lines]
    except msgspec.DecodeError:  # whatever msgspec refuses: the block is not for one call
        return None


@PROPERTY
@given(
    lines=st.lists(st.sampled_from(GOOD) | st.sampled_from(ODD), min_size=1, max_size=6),
    repeat=st.sampled_from([1, 2, 9, 40]),
    final_break=st.booleans(),
    max_line_bytes=st.none() | st.sampled_from([60, 400]),
)
def test_a_block_decodes_as_its_lines_one_by_one(
    lines: list[bytes], repeat: int, final_break: bool, max_line_bytes: int | None
) -> None:
    # Given lines, good and odd (blank, led or ended by white space, CRLF, two values, half a value, not an
    # envelope), repeated into a block
    # of a few or of many lines, with or without a final break
    data = b"\n".join(lines * repeat) + (b"\n" if final_break else b"")
    # When decoded in one call / Then as the lines one by one, or None where that rule refuses the block
    assert decode_each_line(STORED_ENVELOPE, data, max_line_bytes) == plainly(data, max_line_bytes)


@pytest.mark.parametrize("repeat", [1, 20])
def test_an_envelope_over_two_lines_beside_a_line_of_two_is_not_one_per_line(repeat: int) -> None:
    # Given an envelope cut in two over two lines, and a line holding two envelopes: as many values as lines
    data = b"\n".join([*HALVES, GOOD[0] + GOOD[1]] * repeat) + b"\n"
    assert len(STORED_ENVELOPE.decode_lines(data)) == 3 * repeat
    # When the block is decoded in one call / Then it is not taken: each line is the per-line rule's
    assert plainly(data, None) is None
    assert decode_each_line(STORED_ENVELOPE, data, None) is None
