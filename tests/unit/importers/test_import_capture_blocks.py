"""Capture lines read a block at a time give what the one-line rule gives: the same messages in the same order, the
same invalid lines with the same reasons, whether the lines come from a file (bytes) or from a text."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wattline import importers
from wattline.importers import ImportFormat, ImportResult, Message, capture_messages, messages_from_lines
from wattline.inputs import LineReader, text_lines

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW_MS = 1_795_400_000_000


def line(topic: Any, payload: Any, received_at: Any) -> str:
    return json.dumps({"topic": topic, "payload": payload, "received_at": received_at})


valid = st.builds(
    line,
    topic=st.sampled_from(["shellyproem50-08f9e0e67204/events/rpc", "shellies/shellyem-B8D6E3/emeter/0/power", "x"]),
    payload=st.text(max_size=10),
    received_at=st.floats(min_value=1.42e9, max_value=NOW_MS / 1000 + 86_400)
    | st.integers(1_420_070_400, 1_795_000_000),
)
odd = st.builds(
    line,
    topic=st.sampled_from(["", "t", 5, None]),
    payload=st.sampled_from(["p", 1, None]),
    received_at=st.sampled_from([0, 1.42e9, 1_420_070_399.9995, NOW_MS / 1000 + 86_400.001, 1e300, "1", True]),
)
junk = st.sampled_from(
    [
        "",
        "  ",
        "\xa0",
        "{",
        "not json",
        '{"device_id":"d"}',
        "[]",
        '{"topic":"t","payload":"p","received_at":1}x',
        "\udc80",
    ]
)
lines = st.lists(st.one_of(valid, valid, valid, valid, odd, junk), max_size=14)  # mostly valid: whole blocks too


def one_line_rule(block: list[str]) -> tuple[list[Message], ImportResult]:
    result = ImportResult()
    return list(capture_messages("c.jsonl", text_lines("\n".join(block)), result, now_ms=NOW_MS)), result


def outcome(result: ImportResult) -> tuple[int, list[str]]:
    return result.invalid_lines, result.invalid_examples


@PROPERTY
@given(block=lines)
def test_a_text_read_in_blocks_gives_the_one_line_rule(block: list[str]) -> None:
    # Given capture lines, valid and not, read three at a time (a text, so no invalid UTF-8)
    assume("\udc80" not in block)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importers, "BLOCK_LINES", 3)
        result = ImportResult()
        # When they are read in blocks
        messages = list(
            messages_from_lines(
                "c.jsonl", text_lines("\n".join(block)), fmt=ImportFormat.CAPTURE, now_ms=NOW_MS, result=result
            )
        )
    # Then the messages and the invalid lines are those of the one-line rule
    expected, expected_result = one_line_rule(block)
    assert messages == expected
    assert outcome(result) == outcome(expected_result)


@PROPERTY
@given(block=lines)
def test_a_file_read_in_blocks_gives_the_one_line_rule(block: list[str]) -> None:
    # Given the same lines in a file (invalid UTF-8 where a text has a lone surrogate), read three at a time
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "c.jsonl"
        path.write_bytes("\n".join(block).encode("utf-8", "surrogateescape"))
        patch.setattr(importers, "BLOCK_LINES", 3)
        result = ImportResult()
        # When they are read in blocks
        messages = list(
            messages_from_lines("c.jsonl", LineReader(path), fmt=ImportFormat.CAPTURE, now_ms=NOW_MS, result=result)
        )
        # Then the messages and the invalid lines are those of the one-line rule on the file's lines
        expected_result = ImportResult()
        expected = list(capture_messages("c.jsonl", LineReader(path), expected_result, now_ms=NOW_MS))
    assert messages == expected
    assert outcome(result) == outcome(expected_result)


def test_a_file_of_several_blocks_gives_the_one_line_rule(tmp_path: Path) -> None:
    # Given a capture file larger than one read block (1 MiB), with blank and invalid lines here and there, CRLF ends
    texts = [line("shellyproem50-08f9e0e67204/events/rpc", "p" * 300, 1_795_000_000 + i / 10) for i in range(8_000)]
    for position, bad in [(5, ""), (3_000, "{"), (3_001, line("t", 1, 1.5e9)), (7_999, "   ")]:
        texts[position] = bad
    path = tmp_path / "c.jsonl"
    path.write_text("\r\n".join(texts) + "\r\n")
    result = ImportResult()
    # When it is read in blocks
    messages = list(
        messages_from_lines("c.jsonl", LineReader(path), fmt=ImportFormat.AUTO, now_ms=NOW_MS, result=result)
    )
    # Then the messages and the invalid lines are those of the one-line rule
    expected_result = ImportResult()
    expected = list(capture_messages("c.jsonl", LineReader(path), expected_result, now_ms=NOW_MS))
    assert len(messages) == 7_996
    assert messages == expected
    assert (
        outcome(result)
        == outcome(expected_result)
        == (
            2,
            [
                "c.jsonl:3001: not valid JSON (EOF while parsing an object at line 1 column 1)",
                "c.jsonl:3002: payload must be the published text (a JSON string), not a number",
            ],
        )
    )
