"""aggregate_day: deduplicated, sorted, byte-identical daily files whose counts add up; late data replaces them."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pytest
from aggregation_helpers import (
    DAY,
    DAY_START_MS,
    GEN1_DEVICE,
    GEN2_DEVICE,
    Message,
    day_of_messages,
    gen2_notify,
    put_batched,
    put_direct,
)

from wattline import PARSER_VERSION, keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import aggregate_day, aggregation_state_key, validate_object
from wattline.errors import PermanentError
from wattline.formats import frames
from wattline.models import DailyManifest, readings_from_file
from wattline.ports import ObjectStore


def daily_lines(store: ObjectStore, device: str) -> list[str]:
    return gzip.decompress(store.get(keys.daily_readings_key(DAY, device))).decode().splitlines()


def manifest_of(store: ObjectStore, device: str) -> DailyManifest:
    return DailyManifest.model_validate_json(store.get(keys.daily_manifest_key(DAY, device)))


def test_the_counts_add_up_in_the_result_and_the_manifest(store: ObjectStore) -> None:
    # Given a day with one redelivery and one bad message
    messages = day_of_messages(cycles=3)
    messages.append(Message(messages[1].topic, messages[1].payload, messages[1].received_ms + 700))
    messages.append(Message(f"shellies/{GEN1_DEVICE}/emeter/0/power", b"NaN", DAY_START_MS + 9_000_000))
    put_direct(store, messages)
    # When
    result = aggregate_day(store, DAY, GEN1_DEVICE)
    # Then
    counts = result.as_dict()
    assert counts["envelopes"] == counts["kept"] + counts["quarantined"] + counts["duplicates"]
    assert (counts["envelopes"], counts["duplicates"], counts["quarantined"]) == (3 * 13 + 2, 1, 1)
    manifest = manifest_of(store, GEN1_DEVICE)
    assert (manifest.envelopes, manifest.duplicates, manifest.quarantined) == (41, 1, 1)
    assert manifest.source_objects == 41
    assert manifest.parser_version == PARSER_VERSION


def test_the_daily_file_holds_canonical_readings_sorted_by_time_then_channel(store: ObjectStore) -> None:
    put_direct(store, list(reversed(day_of_messages(cycles=2))))
    aggregate_day(store, DAY, GEN1_DEVICE)
    lines = daily_lines(store, GEN1_DEVICE)
    readings = list(readings_from_file("\n".join(lines).encode()))
    assert [reading.to_json_line() for reading in readings] == lines
    order = [(r.ts, -1 if r.channel is None else r.channel) for r in readings]
    assert order == sorted(order)
    assert {r.device_id for r in readings} == {GEN1_DEVICE}


def test_the_manifest_describes_the_file_exactly(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=2))
    aggregate_day(store, DAY, GEN1_DEVICE)
    data = store.get(keys.daily_readings_key(DAY, GEN1_DEVICE))
    manifest = manifest_of(store, GEN1_DEVICE)
    lines = daily_lines(store, GEN1_DEVICE)
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.bytes == len(data)
    assert manifest.readings == len(lines)
    assert manifest.first_ts == json.loads(lines[0])["ts"]
    assert manifest.last_ts == json.loads(lines[-1])["ts"]


def test_running_twice_gives_a_byte_identical_file(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=2))
    aggregate_day(store, DAY, GEN2_DEVICE)
    first = store.get(keys.daily_readings_key(DAY, GEN2_DEVICE)), store.get(keys.daily_manifest_key(DAY, GEN2_DEVICE))
    aggregate_day(store, DAY, GEN2_DEVICE, concurrency=1)
    second = store.get(keys.daily_readings_key(DAY, GEN2_DEVICE)), store.get(keys.daily_manifest_key(DAY, GEN2_DEVICE))
    assert first == second


def test_per_message_objects_and_batched_objects_give_the_same_daily_file() -> None:
    # Given the same messages stored once per message and once in Firehose-style batches
    direct, batched = MemoryObjectStore(), MemoryObjectStore()
    put_direct(direct, day_of_messages(cycles=3))
    put_batched(batched, day_of_messages(cycles=3), per_object=7)
    # When
    aggregate_day(direct, DAY, GEN1_DEVICE)
    aggregate_day(batched, DAY, GEN1_DEVICE)
    # Then
    key = keys.daily_readings_key(DAY, GEN1_DEVICE)
    assert direct.get(key) == batched.get(key)


def test_gen2_deltas_are_parsed_in_receive_order_whatever_the_object_order(store: ObjectStore) -> None:
    # Given a full status and two NotifyStatus deltas whose object names sort against receive order
    t = DAY_START_MS + 3_600_000
    status = {"id": 0, "act_power": 5.0, "voltage": 230.0, "current": 0.1}
    messages = [
        Message(f"{GEN2_DEVICE}/status/em1:0", json.dumps(status).encode(), t),
        Message(f"{GEN2_DEVICE}/events/rpc", gen2_notify((t + 1_000) / 1000, 0, {"act_power": 50.0}), t + 1_010),
        Message(f"{GEN2_DEVICE}/events/rpc", gen2_notify((t + 2_000) / 1000, 0, {"act_power": 70.0}), t + 2_010),
    ]
    put_batched(store, list(reversed(messages)), per_object=1)
    # When
    result = aggregate_day(store, DAY, GEN2_DEVICE)
    # Then the readings follow the device's time and carry the powers in order
    powers = [json.loads(line).get("power_w") for line in daily_lines(store, GEN2_DEVICE)]
    assert powers == [5.0, 50.0, 70.0]
    assert result.counts.quarantined == 0


def test_late_data_replaces_the_daily_file_and_clears_the_dirty_marker(store: ObjectStore) -> None:
    # Given an aggregated day
    put_direct(store, day_of_messages(cycles=2))
    before = aggregate_day(store, DAY, GEN1_DEVICE)
    # And a message that arrives afterwards, validated as late
    late = Message(f"shellies/{GEN1_DEVICE}/emeter/1/power", b"42.5", DAY_START_MS + 80_000_000)
    [late_key] = put_direct(store, [late])
    assert validate_object(store, late_key).late
    # When
    after = aggregate_day(store, DAY, GEN1_DEVICE)
    # Then
    assert after.dirty_cleared
    assert store.head(keys.dirty_key(DAY, GEN1_DEVICE)) is None
    assert after.counts.envelopes == before.counts.envelopes + 1
    assert after.readings == before.readings + 1
    assert any('"power_w":42.5' in line for line in daily_lines(store, GEN1_DEVICE))


def test_a_dirty_marker_rewritten_during_aggregation_is_kept_for_the_next_run(store: ObjectStore) -> None:
    # Given a dirty marker that changes after aggregation read it (a second late object)
    put_direct(store, day_of_messages(cycles=1))
    store.put(keys.dirty_key(DAY, GEN1_DEVICE), b"raw/first-late")

    original_put = store.put

    def put_then_mark(key: str, data: bytes, **kwargs: object) -> object:
        info = original_put(key, data, **kwargs)  # type: ignore[arg-type]
        if key.endswith("manifest.json"):
            original_put(keys.dirty_key(DAY, GEN1_DEVICE), b"raw/second-late")
        return info

    store.put = put_then_mark  # type: ignore[method-assign]
    # When
    result = aggregate_day(store, DAY, GEN1_DEVICE)
    # Then
    assert not result.dirty_cleared
    assert store.get(keys.dirty_key(DAY, GEN1_DEVICE)) == b"raw/second-late"


def test_late_data_merges_into_the_daily_file_when_the_earlier_raw_objects_were_archived(
    store: ObjectStore,
) -> None:
    # Given an aggregated day whose raw objects the archiver then removed
    written = put_direct(store, day_of_messages(cycles=2))
    before = aggregate_day(store, DAY, GEN1_DEVICE)
    old_lines = daily_lines(store, GEN1_DEVICE)
    for key in written:
        store.delete(key)
    # And a late message
    put_direct(store, [Message(f"shellies/{GEN1_DEVICE}/emeter/2/power", b"7.25", DAY_START_MS + 80_000_000)])
    # When
    after = aggregate_day(store, DAY, GEN1_DEVICE)
    # Then nothing aggregated before is lost and the late reading is added
    new_lines = daily_lines(store, GEN1_DEVICE)
    assert after.mode == "merge"
    assert set(old_lines) < set(new_lines)
    assert len(new_lines) == len(old_lines) + 1
    assert after.counts.envelopes == before.counts.envelopes + 1
    assert after.source_objects == before.source_objects + 1


def test_a_merge_is_idempotent(store: ObjectStore) -> None:
    written = put_direct(store, day_of_messages(cycles=1))
    aggregate_day(store, DAY, GEN1_DEVICE)
    for key in written:
        store.delete(key)
    put_direct(store, [Message(f"shellies/{GEN1_DEVICE}/emeter/2/power", b"7.25", DAY_START_MS + 80_000_000)])
    first = aggregate_day(store, DAY, GEN1_DEVICE)
    data = store.get(keys.daily_readings_key(DAY, GEN1_DEVICE))
    second = aggregate_day(store, DAY, GEN1_DEVICE)
    assert second.as_dict() == {**first.as_dict(), "dirty_cleared": second.dirty_cleared}
    assert store.get(keys.daily_readings_key(DAY, GEN1_DEVICE)) == data


def test_the_aggregation_state_is_written_before_the_manifest(store: ObjectStore) -> None:
    put_direct(store, day_of_messages(cycles=1))
    order: list[str] = []
    original_put = store.put

    def recording_put(key: str, data: bytes, **kwargs: object) -> object:
        order.append(key)
        return original_put(key, data, **kwargs)  # type: ignore[arg-type]

    store.put = recording_put  # type: ignore[method-assign]
    aggregate_day(store, DAY, GEN1_DEVICE)
    assert order == [
        keys.daily_readings_key(DAY, GEN1_DEVICE),
        aggregation_state_key(DAY, GEN1_DEVICE),
        keys.daily_manifest_key(DAY, GEN1_DEVICE),
    ]


def test_a_day_where_every_message_was_quarantined_still_gets_an_empty_file(store: ObjectStore) -> None:
    put_direct(store, [Message(f"shellies/{GEN1_DEVICE}/emeter/0/power", b"x", DAY_START_MS + 5)])
    result = aggregate_day(store, DAY, GEN1_DEVICE)
    assert (result.readings, result.counts.quarantined) == (0, 1)
    assert daily_lines(store, GEN1_DEVICE) == []
    assert manifest_of(store, GEN1_DEVICE).first_ts is None


def test_a_device_day_without_raw_data_writes_nothing(store: ObjectStore) -> None:
    result = aggregate_day(store, DAY, GEN1_DEVICE)
    assert result.mode == "empty"
    assert store.head(keys.daily_manifest_key(DAY, GEN1_DEVICE)) is None


def test_an_unsafe_device_id_is_refused(store: ObjectStore) -> None:
    with pytest.raises(PermanentError):
        aggregate_day(store, DAY, "../etc")
    with pytest.raises(PermanentError):
        aggregate_day(store, DAY, "_invalid")


def test_validate_and_aggregate_quarantine_the_same_envelopes(store: ObjectStore) -> None:
    # Given a batch with a broken line, a bad value and an oversized line among good messages
    messages = day_of_messages(cycles=1)
    messages.append(Message(f"shellies/{GEN1_DEVICE}/emeter/0/voltage", b"9999", DAY_START_MS + 7_000_000))
    [key] = put_batched(store, [m for m in messages if m.topic.startswith("shellies/")], per_object=100)
    body = store.get(key) + b'{"topic": "broken\n' + b'{"x": "' + b"a" * 500_000 + b'"}\n'
    store.put(key, body)
    # When
    validated = validate_object(store, key)
    aggregated = aggregate_day(store, DAY, GEN1_DEVICE)
    # Then
    assert validated.received == aggregated.counts.envelopes
    assert validated.reasons == aggregated.counts.reasons
    assert validated.quarantined == aggregated.counts.quarantined == 3


def test_an_envelope_cut_over_two_lines_is_quarantined_line_by_line_even_beside_a_line_of_two() -> None:
    # Given a batch whose lines hold as many envelopes as there are lines, but not one each: an envelope cut over
    # two lines, and a line of two envelopes, between two good lines
    store = MemoryObjectStore()
    good = [
        frames.envelope_line(f"{GEN2_DEVICE}/events/rpc", DAY_START_MS + n * 1000, None, payload)
        for n, payload in enumerate(
            base64.b64encode(gen2_notify(DAY_START_MS / 1000 + n, 0, {"act_power": 10.0 + n})).decode()
            for n in range(5)
        )
    ]
    cut = good[1].index('"received_ms"')
    lines = [good[0], good[1][:cut], good[1][cut:], good[2] + good[3], good[4]]
    store.put(keys.raw_prefix(DAY, GEN2_DEVICE) + "batch.jsonl", "\n".join(lines).encode() + b"\n")
    # When the day is aggregated
    counts = aggregate_day(store, DAY, GEN2_DEVICE, concurrency=1).counts
    # Then each of those three lines is quarantined on its own, as the per-line rule reads it; the good ones kept
    assert (counts.envelopes, counts.quarantined, counts.duplicates, counts.kept) == (5, 3, 0, 2)
