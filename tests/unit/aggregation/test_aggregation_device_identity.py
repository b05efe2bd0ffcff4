"""The device of a stored message is the one its topic names (its raw partition): validate and the aggregator
quarantine a message whose readings name another device as device_mismatch, and keep everything else."""

from __future__ import annotations

import json

from aggregation_helpers import (
    DAY,
    DAY_START_MS,
    GEN1_DEVICE,
    GEN2_DEVICE,
    Message,
    day_of_messages,
    fixture_records,
    gen2_notify,
    put_direct,
)

from wattline import keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.aggregation import aggregate_day, validate_object
from wattline.bridge import batch_body, raw_records

OTHER = "shellyproem50-aabbccddeeff"


def test_a_gen2_frame_whose_src_is_another_device_is_quarantined_and_the_day_is_otherwise_unchanged() -> None:
    # Given a day of real messages, and the same day with one frame whose src names another device
    clean, mixed = MemoryObjectStore(), MemoryObjectStore()
    messages = day_of_messages()
    put_direct(clean, messages)
    frame = json.loads(gen2_notify((DAY_START_MS + 7_200_000) / 1000, 0, {"act_power": 5.0}))
    foreign = Message(
        f"{GEN2_DEVICE}/events/rpc", json.dumps({**frame, "src": OTHER}).encode(), DAY_START_MS + 7_200_100
    )
    [key] = put_direct(mixed, [*messages, foreign])[-1:]
    # When validated and aggregated
    validation = validate_object(mixed, key)
    counts = aggregate_day(mixed, DAY, GEN2_DEVICE).counts
    # Then that one message is quarantined as device_mismatch, and the daily file is the clean day's, byte for byte
    assert validation.reasons == {"device_mismatch": 1}
    assert (counts.quarantined, counts.reasons) == (1, {"device_mismatch": 1})
    aggregate_day(clean, DAY, GEN2_DEVICE)
    readings = keys.daily_readings_key(DAY, GEN2_DEVICE)
    assert mixed.get(readings) == clean.get(readings)


def test_an_rpc_response_stored_under_the_client_that_asked_is_device_mismatch() -> None:
    # Given the real Shelly.GetStatus response p087, on its client's topic, stored under the partition that topic names
    [record] = [r for r in fixture_records() if r["id"] == "p087"]
    store = MemoryObjectStore()
    [raw] = raw_records(record["topic"], record["raw_text"].encode(), DAY_START_MS + 1000, keep_unmatched=True)
    store.put(raw.key, batch_body([raw.line]))
    # When validated and aggregated
    validation = validate_object(store, raw.key)
    result = aggregate_day(store, DAY, raw.device_segment)
    # Then its readings (of the device in `src`) are not put in the client's daily file: quarantined, with a reason
    assert raw.device_segment == "shellypro3em-ec6260890b50-GetStatus"
    assert validation.reasons == {"device_mismatch": 1}
    assert (result.readings, result.counts.reasons) == (0, {"device_mismatch": 1})


def test_a_gen1_message_in_the_partition_of_another_device_is_device_mismatch() -> None:
    # Given a real Gen1 message written under another device's partition (a hand-made or misplaced object)
    [message] = [m for m in day_of_messages() if m.topic.startswith("shellies/")][:1]
    store = MemoryObjectStore()
    line = raw_records(message.topic, message.payload, message.received_ms)[0].line
    key = keys.raw_key(DAY, "shellyem-000000000000", message.received_ms, "misplaced")
    store.put(key, line)
    # When aggregated, Then it is quarantined (the fast path too defers to the rule)
    counts = aggregate_day(store, DAY, "shellyem-000000000000").counts
    assert message.topic.split("/")[1] == GEN1_DEVICE
    assert (counts.envelopes, counts.reasons) == (1, {"device_mismatch": 1})
