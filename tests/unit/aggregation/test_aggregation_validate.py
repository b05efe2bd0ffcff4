"""validate_object: invalid envelopes go to quarantine with a reason and their bytes; late data marks the day dirty."""

from __future__ import annotations

import base64
import json

from aggregation_helpers import DAY, DAY_START_MS, GEN1_DEVICE, Message, day_of_messages, put_batched, put_direct

from wattline import keys
from wattline.aggregation import validate_object
from wattline.models import QuarantineRecord
from wattline.ports import ObjectStore


def test_a_valid_object_is_left_alone_and_nothing_is_quarantined(store: ObjectStore) -> None:
    [key] = put_direct(store, day_of_messages(cycles=1)[1:2])
    result = validate_object(store, key)
    assert (result.received, result.valid, result.quarantined, result.quarantine_key) == (1, 1, 0, None)
    assert [info.key for info in store.list(keys.QUARANTINE_PREFIX)] == []
    assert store.head(key) is not None


def test_an_invalid_gen1_value_is_quarantined_with_its_reason_and_original_bytes(store: ObjectStore) -> None:
    # Given a power message whose payload is not a number
    topic = f"shellies/{GEN1_DEVICE}/emeter/0/power"
    [key] = put_direct(store, [Message(topic, b"abc", DAY_START_MS + 1_000)])
    # When
    result = validate_object(store, key)
    # Then
    assert result.quarantined == 1
    assert result.quarantine_key == keys.quarantine_key(DAY, GEN1_DEVICE, key.rsplit("/", 1)[1])
    [line] = store.get(result.quarantine_key).decode().splitlines()
    record = QuarantineRecord.model_validate_json(line)
    assert record.reason.value in result.reasons
    assert record.source_key == key
    assert base64.b64decode(record.original_b64) == store.get(key)


def test_a_batched_object_quarantines_only_its_bad_lines(store: ObjectStore) -> None:
    # Given a Firehose-style batch with one broken line in the middle
    messages = day_of_messages(cycles=1)[:4]
    [key] = put_batched(store, messages[:1] + messages[1:4], per_object=10)
    lines = store.get(key).split(b"\n")
    lines.insert(2, b'{"topic": "truncated')
    store.put(key, b"\n".join(lines))
    # When
    result = validate_object(store, key)
    # Then
    assert (result.received, result.valid, result.quarantined) == (5, 4, 1)
    assert result.reasons == {"malformed_envelope": 1}


def test_validating_twice_writes_the_same_quarantine_bytes(store: ObjectStore) -> None:
    [key] = put_direct(store, [Message(f"shellies/{GEN1_DEVICE}/emeter/0/voltage", b"-5", DAY_START_MS + 1)])
    first = validate_object(store, key)
    assert first.quarantine_key is not None
    before = store.get(first.quarantine_key)
    second = validate_object(store, key)
    assert second == first
    assert store.get(first.quarantine_key) == before


def test_an_object_under_the_invalid_device_placeholder_is_quarantined_as_bad_device_id(store: ObjectStore) -> None:
    [key] = put_direct(store, [Message("shellies/bad id!/emeter/0/power", b"1", DAY_START_MS + 1)])
    assert "/device=_invalid/" in key
    result = validate_object(store, key)
    assert result.reasons == {"bad_device_id": 1}
    assert result.quarantine_key is not None and "/device=_unknown/" in result.quarantine_key


def test_data_arriving_after_the_daily_file_marks_the_device_day_dirty(store: ObjectStore) -> None:
    # Given the day was aggregated already
    store.put(keys.daily_readings_key(DAY, GEN1_DEVICE), b"old")
    [key] = put_direct(store, day_of_messages(cycles=1)[1:2])
    # When
    result = validate_object(store, key)
    # Then
    assert result.late
    assert store.get(keys.dirty_key(DAY, GEN1_DEVICE)) == key.encode()


def test_data_before_the_daily_file_exists_is_not_late(store: ObjectStore) -> None:
    [key] = put_direct(store, day_of_messages(cycles=1)[1:2])
    assert not validate_object(store, key).late
    assert store.head(keys.dirty_key(DAY, GEN1_DEVICE)) is None


def test_an_empty_object_is_quarantined_not_raised(store: ObjectStore) -> None:
    key = f"raw/dt={DAY.isoformat()}/device={GEN1_DEVICE}/empty.json"
    store.put(key, b"")
    result = validate_object(store, key)
    assert result.reasons == {"malformed_envelope": 1}
    assert json.loads(store.get(result.quarantine_key or "").splitlines()[0])["reason"] == "malformed_envelope"
