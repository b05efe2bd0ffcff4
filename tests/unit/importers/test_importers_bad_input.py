"""`wattline import` on bad input: one bad line, row or record is counted and reported with its file name and line
number, every good one around it is imported; whole files are refused or cut short only with a clear reason."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.captures import BAD_CAPTURE_LINES, DEEP, NOW_MS, START_S, real_capture_lines, real_messages, with_line

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import INVALID_DEVICE_SEGMENT, aggregate_day
from wattline.importers import ImportFormat, ImportResult, import_file, import_text
from wattline.inputs import InputTooLarge
from wattline.keys import parse_raw_key
from wattline.local.ledger import compute_ledger
from wattline.models import Envelope

BAD_LINE_NUMBER = 7


def stored(store: MemoryObjectStore) -> set[tuple[str, str, int]]:
    """(topic, payload text, received_ms) of every envelope under raw/."""
    lines = [line for key in store.list_keys("raw/") for line in store.get(key).splitlines() if line.strip()]
    envelopes = [Envelope.model_validate_json(line) for line in lines]
    return {(e.topic, e.payload_text(), e.received_ms) for e in envelopes}


def expected(lines: list[str]) -> set[tuple[str, str, int]]:
    records = [json.loads(line) for line in lines]
    return {(r["topic"], r["payload"], round(r["received_at"] * 1000)) for r in records}


@pytest.mark.parametrize("what", list(BAD_CAPTURE_LINES))
def test_one_bad_capture_line_is_reported_by_file_and_line_and_every_good_line_is_imported(what: str) -> None:
    # Given real capture lines with one bad line as line 7
    good = real_capture_lines()
    bad, reason = BAD_CAPTURE_LINES[what]
    store = MemoryObjectStore()
    # When the file is imported
    result = import_text(with_line(good, BAD_LINE_NUMBER, bad), store, now_ms=NOW_MS, name="capture.jsonl")
    # Then exactly that line is invalid, named by file and line number with why, and every good message is in raw/
    assert result.invalid_lines == 1
    [example] = result.invalid_examples
    assert example.startswith(f"capture.jsonl:{BAD_LINE_NUMBER}: ") and reason in example
    assert result.messages == len(good)
    assert stored(store) == expected(good)


def test_a_json_payload_nested_1000_deep_is_a_message_that_reaches_raw_for_the_parsers_to_quarantine() -> None:
    # Given a capture whose one Gen2 frame nests 1000 levels (the text the device published, however odd)
    good = real_capture_lines()
    deep = json.dumps({"topic": "shellyproem50-08f9e0e67204/events/rpc", "payload": DEEP, "received_at": START_S})
    store = MemoryObjectStore()
    # When imported
    result = import_text(with_line(good, 3, deep), store, now_ms=NOW_MS, name="capture.jsonl")
    # Then it is no invalid line: it is stored with the others, and the aggregator quarantines it as too_deep
    assert result.invalid_lines == 0 and result.messages == len(good) + 1
    day = datetime.fromtimestamp(START_S, tz=UTC).date()
    counts = aggregate_day(store, day, "shellyproem50-08f9e0e67204").counts
    assert (counts.envelopes, counts.reasons) == (1, {"too_deep": 1})


EM_DATA_HEADER = "Date/time UTC,Active energy Wh,Returned energy Wh,Min V,Max V"
EM_DATA_ROWS = [f"2026-11-19 10:{minute:02d},10.0000,0.0000,229.1,231.3" for minute in range(6)]


@pytest.mark.parametrize(
    ("what", "row", "reason"),
    [
        ("a minute in year 1", "0001-01-01 10:00,10.0,0.0,229.1,231.3", "before 2015-01-01"),
        ("a minute in year 33658", "33658-01-01 10:00,10.0,0.0,229.1,231.3", "is not a date and time"),
        ("an energy of 1e308", "2026-11-19 10:59,1e308,0.0,229.1,231.3", "outside [0, 1666.67]"),
        ("an energy of nan", "2026-11-19 10:59,nan,0.0,229.1,231.3", "not a finite number"),
        ("a voltage of 1e308", "2026-11-19 10:59,10.0,0.0,229.1,1e308", "max voltage"),
        ("a missing column", "2026-11-19 10:59,10.0,0.0", "3 columns, expected 5"),
        ("a row that is no minute", "total,10.0,0.0,229.1,231.3", "is not a date and time"),
    ],
)
def test_one_bad_em_data_row_is_reported_by_line_and_the_counters_go_on_without_it(
    what: str, row: str, reason: str
) -> None:
    # Given six good minutes of 10 Wh with one bad row as line 4 (after the header and two minutes)
    text = "\n".join([EM_DATA_HEADER, *EM_DATA_ROWS[:2], row, *EM_DATA_ROWS[2:]]) + "\n"
    store = MemoryObjectStore()
    # When imported
    result = import_text(
        text, store, device_id="shellyem-A4CF12F454A3", now_ms=NOW_MS, name="em_data.csv", fmt=ImportFormat.AUTO
    )
    # Then the row is reported by line, and the six good minutes are all there with counters 10, 20, … 60 Wh
    assert result.invalid_lines == 1
    [example] = result.invalid_examples
    assert example.startswith("em_data.csv:4: ") and reason in example
    totals = sorted(
        float(payload) for topic, payload, _ms in stored(store) if topic.endswith("/total") and payload != "0.0"
    )
    assert totals == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]


def em1data(blocks: list[dict[str, object]]) -> str:
    return json.dumps({"id": 1, "result": {"keys": ["total_act_energy", "total_act_ret_energy"], "data": blocks}})


GOOD_BLOCK = {"ts": 1763546400, "period": 60, "values": [[10.0, 0.0], [20.0, 0.0]]}


@pytest.mark.parametrize(
    ("what", "bad_block", "where", "reason"),
    [
        ("a period of 0", {"ts": 1763546520, "period": 0, "values": [[5.0, 0.0]]}, "data[1]", "period 0"),
        ("a negative period", {"ts": 1763546520, "period": -60, "values": [[5.0, 0.0]]}, "data[1]", "period -60"),
        ("a ts in year 33658", {"ts": 1e12, "period": 60, "values": [[5.0, 0.0]]}, "data[1].values[0]", "after now"),
        ("a ts of 1e308", {"ts": 1e308, "values": [[5.0, 0.0]]}, "data[1].values[0]", "after now"),
        ("a string ts", {"ts": "1763546520", "values": [[5.0, 0.0]]}, "data[1]", "ts must be a number"),
        ("an energy of 1e308", {"ts": 1763546520, "values": [[1e308, 0.0]]}, "data[1].values[0]", "outside"),
        ("a record that is no list", {"ts": 1763546520, "values": [5.0]}, "data[1].values[0]", "a list of values"),
    ],
)
def test_one_bad_em1data_block_or_record_is_reported_by_its_json_path_and_the_rest_is_imported(
    what: str, bad_block: dict[str, object], where: str, reason: str
) -> None:
    # Given a good block of two minutes, a bad one, and another good block of two minutes
    later = {"ts": 1763546640, "period": 60, "values": [[1.0, 0.0], [2.0, 0.0]]}
    store = MemoryObjectStore()
    # When imported
    result = import_text(
        em1data([GOOD_BLOCK, bad_block, later]),
        store,
        device_id="shellyproem50-08f9e0e67204",
        now_ms=NOW_MS,
        name="getdata.json",
    )
    # Then the bad part is reported by its JSON path, and the counters of the four good minutes are all there
    assert result.invalid_lines == 1
    [example] = result.invalid_examples
    assert example.startswith(f"getdata.json:{where}: ") and reason in example
    frames = [json.loads(payload) for _topic, payload, _ms in stored(store)]
    totals = sorted(frame["params"]["em1data:0"]["total_act_energy"] for frame in frames)
    assert totals == [0.0, 10.0, 30.0, 31.0, 33.0]


def write_gz(path: Path, lines: list[str]) -> bytes:
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path.write_bytes(data)
    return data


def complete_lines(truncated: bytes) -> int:
    """How many whole lines the readable part of a truncated gzip holds."""
    return zlib.decompressobj(wbits=31).decompress(truncated).count(b"\n")


def test_a_truncated_gzip_keeps_every_line_before_the_break_and_says_how_far_it_got(tmp_path: Path) -> None:
    # Given a gzip capture of 40 × 38 real messages, cut in the middle
    lines = [line for block in range(40) for line in real_capture_lines(START_S + block * 3600)]
    path = tmp_path / "capture.jsonl.gz"
    data = write_gz(path, lines)
    path.write_bytes(data[: len(data) // 2])
    readable = complete_lines(data[: len(data) // 2])
    assert 0 < readable < len(lines)
    store = MemoryObjectStore()
    # When imported
    result = import_file(path, store, now_ms=NOW_MS)
    # Then every complete line before the break is imported and the truncation is reported with name and count
    assert result.messages == readable and result.invalid_lines == 0
    assert stored(store) == expected(lines[:readable])
    [problem] = result.file_errors
    assert problem.startswith("capture.jsonl.gz: ") and f"after {readable} lines" in problem


def test_a_file_larger_than_the_limit_once_decompressed_is_refused_whole_naming_the_file_and_the_limit(
    tmp_path: Path,
) -> None:
    # Given a gzip capture of about 100 kB once decompressed
    lines = [line for block in range(30) for line in real_capture_lines(START_S + block * 3600)]
    path = tmp_path / "big.jsonl.gz"
    write_gz(path, lines)
    store = MemoryObjectStore()
    # When imported with a limit of 50 kB
    with pytest.raises(InputTooLarge) as raised:
        import_file(path, store, now_ms=NOW_MS, max_bytes=50_000)
    # Then nothing of it is written, and the error names the file and the limit
    assert store.list_keys("raw/") == []
    assert raised.value.name == "big.jsonl.gz" and raised.value.limit == 50_000
    assert "big.jsonl.gz" in str(raised.value) and "50,000 bytes" in str(raised.value)


def test_every_message_of_a_messy_capture_ends_in_the_ledger(tmp_path: Path) -> None:
    # Given a capture of real messages plus messages no ingest rule stores, one naming no device, one from
    # a reserved device name, a frame whose src is another device, and two invalid lines
    good = real_capture_lines()
    odd = [
        # topics no rule stores: a Gen1 sensor topic, an RPC response to a client, $SYS, a one-level topic
        ("shellies/shellyem-123456789012/temperature", "21.5"),
        ("shellypro3em-ec6260890b50-GetStatus/rpc", _p087()),
        ("$SYS/broker/uptime", "12 seconds"),
        ("hello", "world"),
        # stored by the rules but quarantined: a reserved device name, a src naming another device
        ("_invalid/online", "true"),
        (
            "shellyproem50-08f9e0e67204/events/rpc",
            '{"src":"shellyproem50-aabbccddeeff","method":"NotifyStatus","params":{"em1:0":{"act_power":1.0}}}',
        ),
    ]
    extra = [json.dumps({"topic": t, "payload": p, "received_at": START_S + 900 + i}) for i, (t, p) in enumerate(odd)]
    text = "\n".join([*good, *extra, "{not json", json.dumps({"topic": "x/online", "payload": 1, "received_at": 1})])
    store = MemoryObjectStore()
    # When it is imported and every device-day aggregated
    result = import_text(text, store, now_ms=NOW_MS, name="messy.jsonl")
    for key in store.list_keys("raw/"):
        day, device, _name = parse_raw_key(key)  # type: ignore[misc]
        if device != INVALID_DEVICE_SEGMENT:
            aggregate_day(store, day, device)
    # Then the two invalid lines are reported, and every message is in the ledger: received = all of them,
    # kept + quarantined + duplicates = received, nothing pending
    assert (result.invalid_lines, result.messages) == (2, len(good) + len(odd))
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    ledger = compute_ledger(
        store, MemoryObjectStore("gcs"), pending_events={}, pending_storage=set(), dead_letters=[], now=now
    )
    assert ledger.received == result.messages and ledger.counts_add_up and ledger.pending_days == []
    assert (ledger.kept, ledger.quarantined, ledger.duplicates) == (len(good), len(odd), 0)
    assert ledger.quarantine_reasons == {"bad_device_id": 3, "device_mismatch": 2, "unknown_topic": 1}


def _p087() -> str:
    records = json.loads((Path(__file__).parents[2] / "fixtures" / "shelly-payloads.json").read_text())["records"]
    return str(next(record["raw_text"] for record in records if record["id"] == "p087"))


def test_real_messages_cover_gen1_and_gen2() -> None:
    topics = [topic for topic, _payload in real_messages()]
    assert any(t.startswith("shellies/") for t in topics) and any("/status/em1:" in t for t in topics)


def test_an_import_result_counts_lines_as_analyze_does() -> None:
    result = ImportResult()
    for number in range(12):
        result.invalid(f"f:{number}: why")
    assert result.invalid_lines == result.skipped == 12 and len(result.invalid_examples) == 10


def test_a_capture_whose_first_line_is_bad_is_still_read_as_a_capture() -> None:
    good = real_capture_lines()
    store = MemoryObjectStore()
    result = import_text(with_line(good, 1, "garbage, not JSON"), store, now_ms=NOW_MS, name="capture.jsonl")
    assert result.invalid_examples == ["capture.jsonl:1: not valid JSON (expected value at line 1 column 1)"]
    assert result.messages == len(good) and stored(store) == expected(good)
