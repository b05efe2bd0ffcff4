"""Backfill importers: captures, Gen1 em_data.csv and Gen2 EM1Data.GetData into raw/ objects of envelopes."""

from __future__ import annotations

import json

import pytest

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import aggregate_day
from wattline.energy import compute_hourly
from wattline.importers import ImportError_, ImportFormat, detect_format, import_text
from wattline.keys import parse_raw_key
from wattline.models import Envelope
from wattline.parsing import Gen2State, parse_envelope

EM_DATA_CSV = """Date/time UTC,Active energy Wh,Returned energy Wh,Min V,Max V
2026-11-19 10:00,10.0000,0.0000,229.1,231.3
2026-11-19 10:01,12.5000,0.0000,229.0,231.0
2026-11-19 10:02,0.0000,1.5000,230.0,232.0
"""

EM1DATA = {
    "id": 1,
    "src": "shellyproem50-08f9e0e67204",
    "result": {
        "keys": ["total_act_energy", "total_act_ret_energy", "avg_voltage"],
        "data": [
            {"ts": 1763546400, "period": 60, "values": [[10.0, 0.0, 230.1], [20.0, 0.0, 230.2], [5.0, 2.0, 230.0]]}
        ],
    },
}


def _envelopes(store: MemoryObjectStore) -> list[Envelope]:
    lines = [line for key in store.list_keys("raw/") for line in store.get(key).splitlines() if line.strip()]
    return [Envelope.model_validate_json(line) for line in lines]


def _import_wh(envelopes: list[Envelope]) -> float:
    state = Gen2State()
    readings = [
        reading
        for envelope in sorted(envelopes, key=lambda e: e.received_ms)
        for reading in parse_envelope(envelope, state=state).readings
    ]
    result = compute_hourly(readings, tz="UTC")
    return sum(row.import_wh for row in result.hourly)


def test_formats_are_detected_by_content() -> None:
    capture = json.dumps({"topic": "a/online", "payload": "true", "received_at": 1.0})
    assert detect_format(capture) is ImportFormat.CAPTURE
    assert detect_format(EM_DATA_CSV) is ImportFormat.EM_DATA_CSV
    assert detect_format(json.dumps(EM1DATA)) is ImportFormat.EM1DATA_JSON


def test_an_unknown_file_is_refused_with_what_to_use() -> None:
    with pytest.raises(ImportError_, match=r"capture JSON Lines, em_data\.csv or EM1Data"):
        detect_format("hello world")


def test_em_data_csv_becomes_gen1_counters_with_the_exact_energy() -> None:
    # Given three minutes of Gen1 history (10 + 12.5 Wh imported, 1.5 Wh returned)
    store = MemoryObjectStore()

    # When it is imported for a device
    result = import_text(EM_DATA_CSV, store, device_id="shellyem-A4CF12F454A3")

    # Then the raw objects hold the device's total counters, and the engine finds exactly 22.5 Wh
    envelopes = _envelopes(store)
    assert result.messages == len(envelopes) == 2 + 3 * 4
    assert {e.topic.rsplit("/", 1)[1] for e in envelopes} == {"total", "total_returned", "power", "voltage"}
    assert _import_wh(envelopes) == pytest.approx(22.5)


def test_device_history_needs_a_device_id() -> None:
    with pytest.raises(ImportError_, match="--device"):
        import_text(EM_DATA_CSV, MemoryObjectStore())


def test_em1data_becomes_gen2_notify_status_frames_with_the_exact_energy() -> None:
    # Given three one-minute EM1Data records (35 Wh imported)
    store = MemoryObjectStore()

    # When they are imported
    import_text(json.dumps(EM1DATA), store, device_id="shellyproem50-08f9e0e67204", channel=1)

    # Then NotifyStatus frames carry cumulative em1data:1 counters at each period end
    envelopes = _envelopes(store)
    frames = [json.loads(e.payload_text()) for e in envelopes]
    assert all(frame["method"] == "NotifyStatus" for frame in frames)
    assert [frame["params"]["em1data:1"]["total_act_energy"] for frame in frames] == [0.0, 10.0, 30.0, 35.0]
    assert frames[-1]["params"]["ts"] == 1763546400 + 180
    assert _import_wh(envelopes) == pytest.approx(35.0)


def test_a_capture_is_stored_as_the_rules_would_store_it() -> None:
    # Given a capture with a Gen1 and a Gen2 message
    lines = [
        {"topic": "shellies/shellyem-A4CF12F454A3/emeter/0/power", "payload": "123.45", "received_at": 1763546400.5},
        {
            "topic": "shellyproem50-08f9e0e67204/events/rpc",
            "payload": json.dumps(
                {"method": "NotifyStatus", "params": {"ts": 1763546400.2, "em1:0": {"id": 0, "act_power": 10.0}}}
            ),
            "received_at": 1763546400.7,
        },
    ]
    store = MemoryObjectStore()

    # When it is imported
    import_text("\n".join(json.dumps(line) for line in lines), store)

    # Then each payload is kept exactly as published, received when captured, in per-device partitions
    envelopes = {e.topic: e for e in _envelopes(store)}
    for line in lines:
        envelope = envelopes[str(line["topic"])]
        assert envelope.payload_text() == line["payload"]
        assert envelope.received_ms == round(float(line["received_at"]) * 1000)
    devices = {parse_raw_key(key)[1] for key in store.list_keys("raw/")}  # type: ignore[index]
    assert devices == {"shellyem-A4CF12F454A3", "shellyproem50-08f9e0e67204"}


def test_importing_twice_writes_the_same_keys_and_aggregates_the_same() -> None:
    # Given a file imported twice into the same bucket
    store = MemoryObjectStore()
    import_text(EM_DATA_CSV, store, device_id="shellyem-A4CF12F454A3")
    first = store.list_keys("raw/")
    import_text(EM_DATA_CSV, store, device_id="shellyem-A4CF12F454A3")

    # Then the keys are the same and the device-day aggregates each message once
    assert store.list_keys("raw/") == first
    day = parse_raw_key(first[0])[0]  # type: ignore[index]
    result = aggregate_day(store, day, "shellyem-A4CF12F454A3")
    assert result.counts.envelopes == 14 and result.counts.duplicates == 0


def test_bad_capture_lines_are_skipped_and_counted() -> None:
    text = "\n".join([json.dumps({"topic": "a/online", "payload": "true", "received_at": 1763546400}), "{not json"])
    result = import_text(text, MemoryObjectStore(), fmt=ImportFormat.CAPTURE)
    assert result.messages == 1 and result.skipped == 1
