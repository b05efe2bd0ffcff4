"""An aggregation may take what validating its raw objects parsed in the same process (`aggregate_day(validated=…)`,
`validate_object(keep=…)`, the local runtime's `ValidatedObjects`) instead of parsing them again: it writes the same
bytes and counts the same as an aggregation that parses every object."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.golden import partitions, real_envelopes, simulated, store_batched, store_direct, store_embedded

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.aggregation import INVALID_DEVICE_SEGMENT, aggregate_day, aggregation_state_key, validate_object
from wattline.importers import Message, batch_objects
from wattline.local.runtime import ValidatedObjects
from wattline.parsing.batch import ParsedBatch

Validated = Callable[[str, bytes], ParsedBatch | None]


def outputs(store: FsObjectStore, validated: Validated | None) -> dict[str, object]:
    """Every raw object validated, then every aggregatable partition aggregated: what each wrote and returned."""
    written: dict[str, object] = {}
    for key in store.list_keys(keys.RAW_PREFIX):
        written[key] = validate_object(store, key, keep=keep if validated is not None else None).as_dict()
    for day, device in partitions(store):
        if device == INVALID_DEVICE_SEGMENT or not keys.is_safe_device_id(device):
            continue
        written[f"{day} {device}"] = aggregate_day(store, day, device, concurrency=1, validated=validated).as_dict()
        for key in (
            keys.daily_readings_key(day, device),
            keys.daily_manifest_key(day, device),
            aggregation_state_key(day, device),
        ):
            written[key] = store.get(key)
    return written


kept = ValidatedObjects(1 << 30)
taken: list[str] = []


def keep(key: str, data: bytes, parsed: ParsedBatch) -> None:
    kept.keep(key, data, parsed)


def take(key: str, data: bytes) -> ParsedBatch | None:
    parsed = kept.take(key, data)
    if parsed is not None:
        taken.append(key)
    return parsed


def redelivered(store: FsObjectStore) -> None:
    """The simulated day (duplicates, late messages) as batches, then every tenth message again in later batches:
    MQTT QoS 1 redeliveries in other objects, out of receive order."""
    messages = [Message(m.topic, m.payload, m.received_ms) for m in simulated().messages]
    again = [Message(m.topic, m.payload, m.received_ms + 700) for m in messages[::10]]
    for key, data in [*batch_objects(messages, batch_lines=50), *batch_objects(again[::-1], batch_lines=7)]:
        store.put(key, data)


LAYOUTS: list[Callable[[FsObjectStore], None]] = [
    lambda store: store_batched(store, real_envelopes()),
    lambda store: store_direct(store, real_envelopes()),
    lambda store: store_embedded(store, real_envelopes()),
    redelivered,
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=["real batched", "real direct", "real embedded", "redelivered"])
def test_an_aggregation_taking_the_validated_objects_writes_what_one_parsing_them_writes(
    tmp_path: Path, layout: Callable[[FsObjectStore], None]
) -> None:
    # Given the same raw objects in two buckets (real messages, bad ones quarantined; or duplicates across objects)
    parsing, taking = FsObjectStore(tmp_path / "parsing"), FsObjectStore(tmp_path / "taking")
    layout(parsing)
    layout(taking)
    taken.clear()
    # When one bucket's objects are validated and aggregated as they are, the other's aggregations take what the
    # validations parsed
    plain = outputs(parsing, None)
    handed = outputs(taking, take)
    # Then both validated, wrote and counted the same; every object framed in columns was taken
    assert handed == plain
    assert bool(taken) == (layout is not LAYOUTS[2])  # (an object of text payloads is framed line by line)


def test_an_object_changed_after_its_validation_is_parsed_again(tmp_path: Path) -> None:
    # Given a validated day whose first object is then rewritten with one message fewer
    store, fresh = FsObjectStore(tmp_path / "changed"), FsObjectStore(tmp_path / "fresh")
    store_batched(store, real_envelopes())
    validated = ValidatedObjects(1 << 30)
    for key in store.list_keys(keys.RAW_PREFIX):
        validate_object(store, key, keep=validated.keep)
    day, device = next((day, device) for day, device in partitions(store) if keys.is_safe_device_id(device))
    first = store.list_keys(keys.raw_prefix(day, device))[0]
    store.put(first, b"\n".join(store.get(first).splitlines()[1:]) + b"\n")
    for key in store.list_keys(keys.RAW_PREFIX):
        fresh.put(key, store.get(key))
    # When the day is aggregated taking what was validated
    result = aggregate_day(store, day, device, concurrency=1, validated=validated.take)
    # Then it is what parsing the objects as they are now gives
    assert result.as_dict() == aggregate_day(fresh, day, device, concurrency=1).as_dict()
    assert store.get(keys.daily_readings_key(day, device)) == fresh.get(keys.daily_readings_key(day, device))


def test_validated_objects_keep_up_to_their_budget_and_are_taken_once(tmp_path: Path) -> None:
    # Given two validated objects, room for the rows of one
    store = FsObjectStore(tmp_path / "bucket")
    store_batched(store, real_envelopes())
    parsed: dict[str, tuple[bytes, ParsedBatch]] = {}

    def remember(key: str, data: bytes, batch: ParsedBatch) -> None:
        parsed[key] = (data, batch)

    for key in store.list_keys(keys.RAW_PREFIX):
        validate_object(store, key, keep=remember)
    (one, (one_data, one_batch)), (two, (two_data, two_batch)) = [
        item for item in parsed.items() if len(item[1][1].rows)
    ][:2]
    validated = ValidatedObjects(one_batch.rows.nbytes)
    # When both are kept
    validated.keep(one, one_data, one_batch)
    validated.keep(two, two_data, two_batch)
    # Then only the first is (the second did not fit), it is given for its own bytes only, and only once
    assert validated.take(two, two_data) is None
    assert validated.take(one, one_data + b"\n") is None
    validated.keep(one, one_data, one_batch)
    assert validated.take(one, one_data) is one_batch
    assert validated.take(one, one_data) is None
