"""`wattline analyze` on bad input: counted and reported by file and line, never fatal, and the same verdict on
every capture line as `wattline import` (one rule: wattline.parsing.lines)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from helpers.captures import BAD_CAPTURE_LINES, DEEP, NOW_MS, START_S, real_capture_lines, with_line
from typer.testing import CliRunner

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.analysis import read_inputs
from wattline.cli.main import app
from wattline.importers import import_file
from wattline.models import Reading

BAD_LINE_NUMBER = 7


def readings_of(path: Path) -> list[Reading]:
    return read_inputs([path], now_ms=NOW_MS)[0]


@pytest.mark.parametrize("what", list(BAD_CAPTURE_LINES))
def test_one_bad_capture_line_is_reported_by_file_and_line_and_the_good_lines_give_all_their_readings(
    what: str, tmp_path: Path
) -> None:
    # Given real capture lines, and the same lines with one bad line as line 7
    good = real_capture_lines()
    clean, messy = tmp_path / "clean.jsonl", tmp_path / "capture.jsonl"
    clean.write_text("\n".join(good) + "\n")
    bad, reason = BAD_CAPTURE_LINES[what]
    messy.write_text(with_line(good, BAD_LINE_NUMBER, bad))
    # When both are analysed
    readings, stats = read_inputs([messy], now_ms=NOW_MS)
    # Then exactly the bad line is reported, by file and line number with why, and the readings are the clean ones
    assert (stats.lines, stats.invalid_lines, stats.messages) == (len(good) + 1, 1, len(good))
    [example] = stats.invalid_examples
    assert example.startswith(f"capture.jsonl:{BAD_LINE_NUMBER}: ") and reason in example
    assert readings == readings_of(clean) and len(readings) >= len(good)


@pytest.mark.parametrize(
    ("what", "changes", "reason"),
    [
        ("a time in year 1", {"ts": "0001-01-01T00:00:00.000Z"}, "before 2015-01-01"),
        ("a time in year 33658", {"ts": "33658-01-01T00:00:00.000Z"}, "not a valid reading"),
        ("a power of 1e308", {"power_w": 1e308}, "outside"),
        ("a counter of -1", {"energy_total_wh": -1.0}, "-1"),
        ("a device id that is a number", {"device_id": 7}, "not a valid reading"),
    ],
)
def test_one_bad_reading_line_is_reported_by_line_and_the_others_are_kept(
    what: str, changes: dict[str, object], reason: str, tmp_path: Path
) -> None:
    # Given three reading lines, the second one bad
    base = {"device_id": "shellyem-C1", "channel": 0, "received_ms": 0, "generation": "gen1", "power_w": 500.0}
    lines = [dict(base, ts=f"2026-11-23T08:0{minute}:00.000Z") for minute in range(3)]
    lines[1].update(changes)
    path = tmp_path / "readings.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    # When analysed
    readings, stats = read_inputs([path], now_ms=NOW_MS)
    # Then line 2 is reported and the two others are read
    assert stats.invalid_lines == 1 and stats.invalid_examples[0].startswith("readings.jsonl:2: ")
    assert reason in stats.invalid_examples[0]
    assert [r.ts.minute for r in readings] == [0, 2]


def test_a_payload_nested_1000_deep_is_a_message_the_parser_quarantines_as_too_deep(tmp_path: Path) -> None:
    good = real_capture_lines()
    deep = json.dumps({"topic": "shellyproem50-08f9e0e67204/events/rpc", "payload": DEEP, "received_at": START_S})
    path = tmp_path / "capture.jsonl"
    path.write_text(with_line(good, 3, deep))
    _readings, stats = read_inputs([path], now_ms=NOW_MS)
    assert stats.invalid_lines == 0 and stats.messages == len(good) + 1
    assert stats.quarantined == {"too_deep": 1}


def test_a_truncated_gzip_gives_the_readings_of_every_line_before_the_break_and_says_how_far_it_got(
    tmp_path: Path,
) -> None:
    # Given a gzip capture cut in the middle
    lines = [line for block in range(40) for line in real_capture_lines(START_S + block * 3600)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    cut = data[: len(data) // 2]
    readable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    path, whole = tmp_path / "capture.jsonl.gz", tmp_path / "before.jsonl"
    path.write_bytes(cut)
    whole.write_text("\n".join(lines[:readable]) + "\n")
    # When analysed
    readings, stats = read_inputs([path], now_ms=NOW_MS)
    # Then it reads exactly the complete lines before the break, and reports the file and how far it got
    assert stats.messages == readable and stats.invalid_lines == 0
    assert readings == readings_of(whole)
    [problem] = stats.file_errors
    assert problem.startswith("capture.jsonl.gz: ") and f"after {readable} lines" in problem


def test_the_command_reports_a_truncated_file_and_still_prints_the_energy(tmp_path: Path) -> None:
    lines = [line for block in range(40) for line in real_capture_lines(START_S + block * 3600)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = tmp_path / "capture.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    result = CliRunner().invoke(app, ["analyze", str(path), "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.stdout)
    assert "capture.jsonl.gz: the gzip stream is truncated" in result.stderr


def test_import_and_analyze_accept_and_refuse_exactly_the_same_lines_of_a_messy_capture(tmp_path: Path) -> None:
    # Given a capture with every kind of bad line between real messages, and messages on odd topics
    good = real_capture_lines()
    text = "\n".join(good[:5])
    for number, (bad, _reason) in enumerate(BAD_CAPTURE_LINES.values()):
        text += "\n" + bad + "\n" + good[5 + number % (len(good) - 5)]
    odd = [("_invalid/online", "true"), ("hello", "world"), ("shellies/shellyem-123456789012/temperature", "21")]
    text += "".join("\n" + json.dumps({"topic": t, "payload": p, "received_at": START_S}) for t, p in odd)
    path = tmp_path / "messy.jsonl"
    path.write_text(text + "\n\n")
    # When it is analysed and imported
    _readings, stats = read_inputs([path], now_ms=NOW_MS)
    result = import_file(path, MemoryObjectStore(), now_ms=NOW_MS)
    # Then both accept the same messages and report the same invalid lines, with the same file:line and reason
    assert stats.messages == result.messages == 5 + len(BAD_CAPTURE_LINES) + len(odd)
    assert stats.invalid_lines == result.invalid_lines == len(BAD_CAPTURE_LINES)
    assert stats.invalid_examples == result.invalid_examples
