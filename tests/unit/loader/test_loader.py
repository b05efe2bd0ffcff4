"""The GCS-finalize loader's domain: verification, boundary hours, idempotency, ordering, events."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers.fakes import MemoryPublisher
from helpers.gcp_daily_files import (
    DEVICE,
    OPTIONS,
    MemoryWarehouse,
    VersionedStore,
    assert_same_rows,
    encode_day,
    reference_rows,
    split_by_day,
    synthetic_readings,
    write_day,
)

from wattline import keys, loader
from wattline.errors import TransientError
from wattline.formats.columns import read_columns as read_readings
from wattline.loader import (
    ENERGY_TABLE,
    FinalizedObject,
    LoadStatus,
    ParsedFiles,
    _NeighbourFile,
    load_daily_file,
)

START = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
END = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
DAYS = [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def history() -> dict[date, list]:
    """Readings are frozen models and tests build new lists from them, so one history serves the module."""
    return split_by_day(synthetic_readings(START, END))


def event_for(store: VersionedStore, day: date, *, time: datetime = NOW) -> FinalizedObject:
    key = keys.daily_readings_key(day, DEVICE)
    info = store.head(key)
    assert info is not None
    return FinalizedObject(bucket=store.name, name=key, generation=info.generation, event_time=time)


def load(store, warehouse, publisher, event):
    return load_daily_file(event, store=store, warehouse=warehouse, publisher=publisher, options=OPTIONS, now=NOW)


def files_of(store: VersionedStore) -> dict[date, bytes]:
    return {day: store.get(keys.daily_readings_key(day, DEVICE)) for day in DAYS}


def test_a_manifest_or_foreign_key_is_ignored_and_acked():
    # Given a store and an event for a manifest and for a raw object
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for name in (keys.daily_manifest_key(DAYS[0], DEVICE), "raw/dt=2026-11-24/device=x/1-a.json"):
        # When the loader gets it
        result = load(store, warehouse, publisher, FinalizedObject("bucket", name, "1", NOW))
        # Then nothing is read, written or published
        assert result.status is LoadStatus.IGNORED
    assert warehouse.merges == 0 and publisher.messages == []


def test_a_day_is_merged_and_announced_with_energy_updated(history):
    # Given one day's verified file
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    write_day(store, history[DAYS[1]], DAYS[1])
    # When its finalize event is loaded
    result = load(store, warehouse, publisher, event_for(store, DAYS[1]))
    # Then both channels' hours are merged and one energy.updated names them and the source generation
    assert result.status is LoadStatus.LOADED
    assert result.channels == [0, 1]
    assert len(warehouse.tables[ENERGY_TABLE]) == result.rows > 40
    [(topic, data, attributes)] = publisher.messages
    body = json.loads(data)
    assert topic == "energy-updated" and attributes["device_id"] == DEVICE
    assert body["date"] == "2026-11-25" and body["channels"] == [0, 1] and body["rows"] == result.rows
    assert body["source"] == {
        "bucket": "bucket",
        "name": result_name(DAYS[1]),
        "generation": event_for(store, DAYS[1]).generation,
    }
    assert body["hours_from"] <= "2026-11-25T00:00:00Z" < body["hours_to"]


def result_name(day: date) -> str:
    return keys.daily_readings_key(day, DEVICE)


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]], ids=["forward", "backward", "shuffled"])
def test_any_load_order_gives_the_whole_history_computed_once(history, order):
    # Given four consecutive daily files
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day in DAYS:
        write_day(store, history[day], day)
    # When their events arrive in any order
    for i in order:
        load(store, warehouse, publisher, event_for(store, DAYS[i]))
    # Then energy_hourly equals compute_hourly over the concatenated history, midnight hours included
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files_of(store)))


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Kyiv", datetime(2026, 10, 23, 22, 0, tzinfo=UTC)),  # the 25-hour autumn day on 2026-10-25
        ("Europe/Kyiv", datetime(2026, 3, 27, 22, 0, tzinfo=UTC)),  # the 23-hour spring day on 2026-03-29
        ("Asia/Kathmandu", datetime(2026, 11, 24, 21, 0, tzinfo=UTC)),  # +5:45: local hours straddle UTC midnight
        ("Australia/Lord_Howe", datetime(2026, 10, 2, 21, 0, tzinfo=UTC)),  # 30-minute DST shift on 2026-10-04
    ],
    ids=["kyiv-autumn", "kyiv-spring", "kathmandu", "lord-howe"],
)
def test_boundary_hours_are_exact_in_any_zone_and_across_dst(zone, start):
    # Given four days of files and a loader configured for the zone
    options = replace(OPTIONS, timezone=zone)
    days = split_by_day(synthetic_readings(start, start + timedelta(days=3, hours=4), seed=11))
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day, readings in days.items():
        write_day(store, readings, day)
    # When loaded in a shuffled order
    for day in [*days][1::2] + [*days][::2]:
        key = keys.daily_readings_key(day, DEVICE)
        event = FinalizedObject(store.name, key, store.head(key).generation, NOW)
        load_daily_file(event, store=store, warehouse=warehouse, publisher=publisher, options=options, now=NOW)
    # Then the table equals one computation in that zone over the whole history
    files = {day: store.get(keys.daily_readings_key(day, DEVICE)) for day in days}
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files, options))


def test_a_day_without_a_file_and_a_channel_silent_for_a_day_are_bridged(history):
    # Given no file at all for day 3 and channel 1 silent during day 2
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    days = {day: history[day] for day in (DAYS[0], DAYS[1], DAYS[3])}
    days[DAYS[1]] = [r for r in days[DAYS[1]] if r.channel != 1]
    for day, readings in days.items():
        write_day(store, readings, day)
    # When the existing files are loaded, newest first
    for day in reversed(days):
        load(store, warehouse, publisher, event_for(store, day))
    # Then the gap hours in between are written exactly as one computation over the files gives them
    files = {day: store.get(keys.daily_readings_key(day, DEVICE)) for day in days}
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files))


def test_unsorted_files_and_sparse_counters_give_the_same_boundary_hours(history):
    # Given day 2 written with its lines shuffled and day 3 whose counter reports stop at 03:00
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day in DAYS:
        write_day(store, history[day], day)
    data, manifest = encode_day(history[DAYS[1]], DAYS[1])
    lines = gzip.decompress(data).decode().splitlines()
    random.Random(3).shuffle(lines)
    shuffled = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    manifest = manifest.model_copy(update={"sha256": hashlib.sha256(shuffled).hexdigest(), "bytes": len(shuffled)})
    store.put(keys.daily_manifest_key(DAYS[1], DEVICE), manifest.model_dump_json().encode())
    store.put(result_name(DAYS[1]), shuffled)
    cutoff = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    sparse = [r if r.ts < cutoff else r.model_copy(update={"energy_total_wh": None}) for r in history[DAYS[2]]]
    write_day(store, sparse, DAYS[2])
    # When every day is loaded
    for day in DAYS:
        load(store, warehouse, publisher, event_for(store, day))
    # Then the table still equals one computation over the files (the neighbour windows widen as needed)
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files_of(store)))


def test_redelivering_every_event_twice_changes_nothing(history):
    # Given all days loaded once
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day in DAYS:
        write_day(store, history[day], day)
    for day in DAYS:
        load(store, warehouse, publisher, event_for(store, day))
    once = {k: dict(v) for k, v in warehouse.tables[ENERGY_TABLE].items()}
    # When every event is delivered twice more
    for day in DAYS + DAYS:
        load(store, warehouse, publisher, event_for(store, day))
    # Then the table is exactly the same
    assert warehouse.tables[ENERGY_TABLE] == once


def test_a_replaced_day_with_late_data_converges_to_the_final_files(history):
    # Given all days loaded, then day 2 replaced by a version with late readings (a late burst near both midnights)
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day in DAYS:
        write_day(store, history[day], day)
    for day in DAYS:
        load(store, warehouse, publisher, event_for(store, day))
    late = synthetic_readings(
        datetime(2026, 11, 26, 23, 40, tzinfo=UTC), datetime(2026, 11, 26, 23, 59, tzinfo=UTC), seed=99
    )
    late += synthetic_readings(
        datetime(2026, 11, 26, 0, 0, tzinfo=UTC), datetime(2026, 11, 26, 0, 7, tzinfo=UTC), seed=5
    )
    write_day(store, history[DAYS[2]] + late, DAYS[2])
    # When its new finalize event is loaded (and the old one is re-delivered)
    load(store, warehouse, publisher, event_for(store, DAYS[2]))
    stale = FinalizedObject("bucket", result_name(DAYS[2]), "1", NOW)
    assert load(store, warehouse, publisher, stale).status is LoadStatus.SUPERSEDED
    # Then the table equals one computation from the final files, neighbours' boundary hours included
    assert_same_rows(warehouse.tables[ENERGY_TABLE], reference_rows(files_of(store)))


def test_a_file_whose_manifest_has_not_arrived_is_retried(history):
    # Given a readings file without its manifest yet
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    data, _ = encode_day(history[DAYS[1]], DAYS[1])
    store.put(result_name(DAYS[1]), data)
    # When it is loaded, Then the platform is asked to retry
    with pytest.raises(TransientError, match="has not arrived"):
        load(store, warehouse, publisher, event_for(store, DAYS[1]))
    assert warehouse.merges == 0


def test_a_file_that_does_not_match_its_manifest_is_never_loaded_and_reported_once_by_name(history):
    # Given a day whose readings file was tampered with after its manifest was written
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    write_day(store, history[DAYS[1]], DAYS[1])
    data, _ = encode_day(history[DAYS[1]][:-5], DAYS[1])
    store.put(result_name(DAYS[1]), data)
    # When its event is loaded
    result = load(store, warehouse, publisher, event_for(store, DAYS[1]))
    # Then it is a permanent `mismatch` outcome (acked, not raised) naming the file, and nothing is written
    assert result.status is LoadStatus.MISMATCH
    assert result.detail.startswith(result_name(DAYS[1])) and "does not match its manifest" in result.detail
    assert (result.device_id, result.day) == (DEVICE, DAYS[1])
    assert warehouse.merges == 0 and publisher.messages == []


def test_a_mismatching_file_stops_no_other_file(history):
    # Given two days, the first one tampered with
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    for day in DAYS[1:3]:
        write_day(store, history[day], day)
    store.put(result_name(DAYS[1]), encode_day(history[DAYS[1]][:-5], DAYS[1])[0])
    # When both events are loaded in turn
    results = [load(store, warehouse, publisher, event_for(store, day)) for day in DAYS[1:3]]
    # Then the tampered day is refused and the other one loaded
    assert [r.status for r in results] == [LoadStatus.MISMATCH, LoadStatus.LOADED]
    assert [json.loads(data)["date"] for _topic, data, _attributes in publisher.messages] == [DAYS[2].isoformat()]


def test_a_replaced_file_that_lands_before_its_new_manifest_is_loaded_by_the_manifests_event(history):
    # Given a day, then its readings replaced (late data) and copied before the new manifest (the cloud transfer
    # does not order objects)
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    write_day(store, history[DAYS[1]], DAYS[1])
    write_day(store, history[DAYS[1]][:-5], DAYS[1], manifest_first=False)
    manifest = store.head(keys.daily_manifest_key(DAYS[1], DEVICE))
    assert manifest is not None
    # When the new manifest's finalize event arrives (the readings' own event had found the old one: mismatch)
    result = load(store, warehouse, publisher, FinalizedObject("bucket", manifest.key, manifest.generation, NOW))
    # Then the manifest's event loads the readings file, as the readings' own event would have
    assert result.status is LoadStatus.LOADED and result.day == DAYS[1]
    [(_topic, data, _attributes)] = publisher.messages
    assert json.loads(data)["source"]["name"] == result_name(DAYS[1])


def test_an_event_older_than_the_maximum_age_is_dropped(history):
    # Given a file whose manifest never matches, and an event older than max_event_age_s
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    data, _ = encode_day(history[DAYS[1]], DAYS[1])
    store.put(result_name(DAYS[1]), data)
    old = event_for(store, DAYS[1], time=NOW - timedelta(seconds=OPTIONS.max_event_age_s + 1))
    # When it is loaded, Then it is dropped (acked) instead of retried forever
    assert load(store, warehouse, publisher, old).status is LoadStatus.TOO_OLD


def test_a_deleted_file_is_acked_as_missing():
    # Given an event for an object that no longer exists
    store, warehouse, publisher = VersionedStore(), MemoryWarehouse(), MemoryPublisher()
    event = FinalizedObject("bucket", result_name(DAYS[0]), "5", NOW)
    # When loaded, Then it is acked as missing
    assert load(store, warehouse, publisher, event).status is LoadStatus.MISSING


def test_the_columnar_reader_keeps_every_line_with_nan_for_absent_quantities(history):
    # Given a day's file
    data, manifest = encode_day(history[DAYS[1]], DAYS[1])
    # When it is read into columns
    cols = read_readings(data)
    # Then every reading is a row, counters only where carried
    assert len(cols) == manifest.readings
    assert cols.channels(DEVICE) == [0, 1]
    assert 0 < int((cols.energy_total_wh == cols.energy_total_wh).sum()) < len(cols)
    assert cols.ts_s.min() >= datetime(2026, 11, 25, tzinfo=UTC).timestamp()


def test_a_cloud_event_gives_bucket_name_generation_and_time():
    # Given Eventarc's CloudEvent attributes and data
    attributes = {"id": "42", "time": "2026-11-27T10:00:00.5Z", "type": "google.cloud.storage.object.v1.finalized"}
    data = {"bucket": "b", "name": "daily/x", "generation": 17}
    # When converted
    event = FinalizedObject.from_cloud_event(attributes, data)
    # Then the loader's input carries them, the generation as text
    assert (event.bucket, event.name, event.generation, event.event_id) == ("b", "daily/x", "17", "42")
    assert event.event_time == datetime(2026, 11, 27, 10, 0, 0, 500000, tzinfo=UTC)


def exact_rows(warehouse: MemoryWarehouse) -> dict[Any, str]:
    """The table's rows as text, so floats compare bit for bit (NaN included)."""
    return {key: repr(sorted(row.items())) for key, row in warehouse.tables[ENERGY_TABLE].items()}


@pytest.mark.parametrize(
    ("order", "some_whole"),
    [([0, 1, 2, 3], True), ([3, 2, 1, 0], True), ([1, 3, 0, 2], False)],  # shuffled: the neighbours were let go
    ids=["forward", "backward", "shuffled"],
)
def test_neighbours_taken_whole_from_the_days_parsed_before_give_the_rows_of_windows(
    history, order, some_whole, monkeypatch
):
    # Given four consecutive daily files
    store = VersionedStore()
    for day in DAYS:
        write_day(store, history[day], day)
    taken_whole = []
    parsed = _NeighbourFile.parsed
    monkeypatch.setattr(_NeighbourFile, "parsed", lambda whole: taken_whole.append(whole) or parsed(whole))
    # When they are loaded in that order with each load's neighbours read in windows (no file parsed before)
    windows = MemoryWarehouse()
    for i in order:
        load(store, windows, MemoryPublisher(), event_for(store, DAYS[i]))
    assert taken_whole == []
    # And loaded again, sharing what each load parsed with the next
    kept, files = MemoryWarehouse(), ParsedFiles()
    for i in order:
        event = event_for(store, DAYS[i])
        load_daily_file(
            event, store=store, warehouse=kept, publisher=MemoryPublisher(), options=OPTIONS, now=NOW, files=files
        )
    # Then the rows are the same, bit for bit, whether or not neighbours were taken whole
    assert bool(taken_whole) is some_whole
    assert exact_rows(kept) == exact_rows(windows)


def test_parsed_files_keep_the_last_few_read_only():
    # Given room for two files
    parsed = ParsedFiles(2)
    files = [
        gzip.compress(f'{{"device_id":"d","ts":"2026-11-2{i}T00:00:00.000Z"}}\n'.encode(), mtime=0) for i in range(3)
    ]
    # When three are read, the first twice
    first = parsed.read(files[0])
    assert parsed.read(files[0]) is first
    parsed.read(files[1])
    parsed.read(files[2])
    # Then only the last two are kept, and their arrays cannot be written
    assert parsed.find(files[0]) is None
    assert parsed.find(files[1]) is not None and parsed.find(files[2]) is not None
    with pytest.raises(ValueError, match="read-only"):
        first.power_w[0] = 1.0


def test_files_handed_over_are_loaded_without_being_parsed(history, monkeypatch):
    # Given four days' files, and their columns handed over as the aggregator that wrote them would
    store = VersionedStore()
    for day in DAYS:
        write_day(store, history[day], day)
    plain = MemoryWarehouse()
    for day in DAYS:
        load(store, plain, MemoryPublisher(), event_for(store, day))
    files = ParsedFiles(handed_bytes=1 << 30)
    for data in files_of(store).values():
        files.hand_over(data, read_readings(data))
    # When they are loaded with nothing allowed to parse a file or a window of one
    monkeypatch.setattr(loader, "read_columns", lambda data: pytest.fail("a handed-over file was parsed"))
    monkeypatch.setattr(loader, "read_jsonl", lambda data: pytest.fail("a handed-over neighbour was parsed"))
    handed = MemoryWarehouse()
    for day in DAYS:
        event = event_for(store, day)
        load_daily_file(
            event, store=store, warehouse=handed, publisher=MemoryPublisher(), options=OPTIONS, now=NOW, files=files
        )
    # Then the rows are those of loads that parsed every file, bit for bit
    assert exact_rows(handed) == exact_rows(plain)


def test_a_file_changed_between_its_hand_over_and_its_load_is_parsed(history):
    # Given a day's columns handed over, then its file replaced by other bytes (another day's readings)
    store = VersionedStore()
    write_day(store, history[DAYS[1]], DAYS[1])
    files = ParsedFiles(handed_bytes=1 << 30)
    written = files_of_day(store, DAYS[1])
    files.hand_over(written, read_readings(written))
    write_day(store, [r.model_copy(update={"power_w": 1.0}) for r in history[DAYS[1]]], DAYS[1])
    assert files_of_day(store, DAYS[1]) != written
    # When it is loaded with and without what was handed over
    handed, plain = MemoryWarehouse(), MemoryWarehouse()
    event = event_for(store, DAYS[1])
    load_daily_file(
        event, store=store, warehouse=handed, publisher=MemoryPublisher(), options=OPTIONS, now=NOW, files=files
    )
    load(store, plain, MemoryPublisher(), event)
    # Then the file as it is now was parsed: the same rows
    assert exact_rows(handed) == exact_rows(plain)


def test_hand_overs_beyond_the_budget_are_not_kept_and_a_read_one_is_kept_as_parsed():
    # Given room for one file's columns
    data = [gzip.compress(f'{{"device_id":"d","ts":"2026-11-2{i}T00:00:00.000Z"}}\n'.encode(), mtime=0) for i in (0, 1)]
    columns = [read_readings(one) for one in data]
    files = ParsedFiles(handed_bytes=sum(getattr(columns[0], f.name).nbytes for f in fields(columns[0])))
    assert files.has_room()
    # When two are handed over
    files.hand_over(data[0], columns[0])
    files.hand_over(data[1], columns[1])
    # Then only the first is kept, read-only, and reading it takes it; only then is there room for another like it
    assert files.find(data[0]) is columns[0] and files.find(data[1]) is None
    assert not files.has_room()
    assert files.read(data[0]) is columns[0]
    assert files.has_room()
    with pytest.raises(ValueError, match="read-only"):
        columns[0].ts_us[0] = 0


def files_of_day(store: VersionedStore, day: date) -> bytes:
    return store.get(keys.daily_readings_key(day, DEVICE))
