"""The IoT topic rules store every Shelly message as the documented Envelope under raw/dt=<UTC day>/device=<id>/."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from infra_templates import (
    INGEST_TEMPLATE,
    evaluate_key,
    evaluate_select,
    load_template,
    topic_matches,
    topic_rules,
    where_holds,
)

from wattline import keys
from wattline.models import Envelope
from wattline.parsing import parse_object

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shelly-payloads.json"
RECEIVED_MS = 1_764_287_999_500  # 2025-11-27T23:59:59.500Z: the last second of a UTC day
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(INGEST_TEMPLATE)


def mqtt_records() -> list[dict[str, Any]]:
    records = json.loads(FIXTURES.read_text())["records"]
    return [record for record in records if record["topic"] and isinstance(record["raw_text"], str)]


def ingest(template: dict[str, Any], topic: str, payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(key, stored object) for every rule that takes the message, as direct mode would write it."""
    stored = []
    for rule in topic_rules(template):
        if topic_matches(rule.topic_filter, topic) and where_holds(rule.where, topic):
            body = evaluate_select(rule.select, topic=topic, received_ms=RECEIVED_MS, payload=payload)
            stored.append((evaluate_key(rule.s3_key, topic=topic, received_ms=RECEIVED_MS, uuid=UUID), body))
    return stored


def test_the_rules_subscribe_exactly_the_gen1_and_gen2_topics(template: dict[str, Any]) -> None:
    # Given the ingest stack
    # When its rules are read
    filters = {rule.topic_filter for rule in topic_rules(template)}
    # Then they are the three Gen1 and three Gen2 topic filters
    assert filters == {
        "shellies/+/emeter/+/+",
        "shellies/+/online",
        "shellies/+/relay/0",
        "+/events/rpc",
        "+/status/+",
        "+/online",
    }


@pytest.mark.parametrize("record", mqtt_records(), ids=lambda record: record["id"])
def test_every_real_meter_message_becomes_one_envelope_with_its_exact_payload(
    template: dict[str, Any], record: dict[str, Any]
) -> None:
    # Given a real Shelly MQTT message
    topic, payload = record["topic"], record["raw_text"].encode()
    if topic.endswith("/rpc") and "/events/" not in topic:
        pytest.skip("an RPC response topic, not telemetry: no rule takes it")
    # When the rules process it
    stored = ingest(template, topic, payload)
    # Then exactly one object is written, and it is an Envelope that gives back the published bytes
    assert len(stored) == 1
    _key, body = stored[0]
    envelope = Envelope.model_validate(body)
    assert envelope.topic == topic
    assert envelope.received_ms == RECEIVED_MS
    assert envelope.payload_text() == record["raw_text"]


@pytest.mark.parametrize(
    ("topic", "device"),
    [
        ("shellies/shellyem-C45BBE6C2E8F/emeter/1/power", "shellyem-C45BBE6C2E8F"),
        ("shellies/shellyem3-68C63AFAF952/relay/0", "shellyem3-68C63AFAF952"),
        ("shellies/shellyem-C45BBE6C2E8F/online", "shellyem-C45BBE6C2E8F"),
        ("shellyproem50-08f9e0e67204/events/rpc", "shellyproem50-08f9e0e67204"),
        ("shellyproem50-08f9e0e67204/status/em1:0", "shellyproem50-08f9e0e67204"),
        ("shellyproem50-08f9e0e67204/online", "shellyproem50-08f9e0e67204"),
    ],
)
def test_the_object_key_is_partitioned_by_utc_day_and_device(template: dict[str, Any], topic: str, device: str) -> None:
    # Given a message received in the last second of 2025-11-27 UTC
    # When the rules store it
    ((key, _body),) = ingest(template, topic, b"1")
    # Then its key is the documented raw key of that UTC day and device
    assert key == keys.raw_key(date(2025, 11, 27), device, RECEIVED_MS, UUID)
    assert keys.parse_raw_key(key) == (date(2025, 11, 27), device, f"{RECEIVED_MS}-{UUID}.json")


def test_a_non_json_gen1_payload_is_kept_as_base64(template: dict[str, Any]) -> None:
    # Given a Gen1 relay message, whose payload is the bare word `on`
    # When the rules store it
    ((_key, body),) = ingest(template, "shellies/shellyem-C45BBE6C2E8F/relay/0", b"on")
    # Then the envelope carries the bytes base64-encoded and no JSON payload
    assert body == {
        "topic": "shellies/shellyem-C45BBE6C2E8F/relay/0",
        "received_ms": RECEIVED_MS,
        "payload_b64": "b24=",
    }


def test_a_malformed_gen2_payload_is_still_stored_byte_exact_for_quarantine(template: dict[str, Any]) -> None:
    # Given a Gen2 notification cut off mid-JSON
    broken = b'{"src":"shellyproem50-08f9e0e67204","method":"NotifyStatus","params":{"ts":17'
    # When the rules store it
    ((_key, body),) = ingest(template, "shellyproem50-08f9e0e67204/events/rpc", broken)
    # Then the envelope still holds the exact bytes (the validator quarantines it; nothing is lost in the rule)
    assert Envelope.model_validate(body).payload_text().encode() == broken


def test_gen1_lwt_is_not_taken_twice_by_the_gen2_online_rule(template: dict[str, Any]) -> None:
    # Given a topic two levels deep under the Gen1 root, which `+/online` would also match
    # When the rules process it
    stored = ingest(template, "shellies/online", b"true")
    # Then no rule stores it (it names no device)
    assert stored == []


def test_firehose_mode_writes_newline_delimited_envelopes_under_the_same_layout(template: dict[str, Any]) -> None:
    # Given the Firehose alternative
    stream = template["Resources"]["RawDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    # Then every rule feeds the stream one envelope per line
    assert all(rule.firehose["Separator"] == "\n" for rule in topic_rules(template))
    # And objects land under raw/dt=<UTC day of received_ms>/device=<id>/, buffered for 60 s
    assert stream["Prefix"] == "raw/dt=!{partitionKeyFromQuery:dt}/device=!{partitionKeyFromQuery:device}/"
    query = stream["ProcessingConfiguration"]["Processors"][0]["Parameters"][1]["ParameterValue"]
    assert 'strftime("%Y-%m-%d")' in text_of(query) and ".received_ms / 1000" in text_of(query)
    assert stream["BufferingHints"]["IntervalInSeconds"] == {"Ref": "FirehoseBufferSeconds"}
    assert template["Parameters"]["FirehoseBufferSeconds"]["Default"] == 60


def text_of(value: Any) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) else str(value)


def test_the_utc_day_in_the_key_is_the_day_of_receive_time_not_local_time() -> None:
    # Given a message received at 23:30 UTC, already the next day in Kyiv
    received = int(datetime(2026, 3, 28, 23, 30, tzinfo=UTC).timestamp() * 1000)
    # When the key template is evaluated
    key = evaluate_key(
        'raw/dt=${parse_time("yyyy-MM-dd", timestamp(), "UTC")}/device=${topic(1)}/${timestamp()}-${newuuid()}.json',
        topic="dev-1/online",
        received_ms=received,
        uuid=UUID,
    )
    # Then the partition is the UTC day
    assert key.startswith("raw/dt=2026-03-28/device=dev-1/")


@pytest.mark.parametrize(
    ("topic", "payload", "quantity"),
    [
        ("shellies/shellyem-C45BBE6C2E8F/emeter/0/power", b"611.53", "power_w"),
        (
            "shelly3em63g3-48f6eead1a8c/status/em1:0",
            b'{"id":0,"current":0.068,"voltage":229.5,"act_power":2.3,"aprt_power":15.6,"pf":0.36,"freq":50.0}',
            "power_w",
        ),
    ],
)
def test_stored_objects_parse_into_readings_whatever_the_generation(
    template: dict[str, Any], topic: str, payload: bytes, quantity: str
) -> None:
    # Given a Gen1 text payload and a Gen2 JSON payload, both stored base64-encoded by the rules
    ((key, body),) = ingest(template, topic, payload)
    # When the validator's parser reads the stored object
    (outcome,) = parse_object(json.dumps(body).encode(), source_key=key, now_ms=RECEIVED_MS)
    # Then it yields a reading of the right device, not a quarantine record
    assert outcome.quarantined is None
    assert outcome.readings and getattr(outcome.readings[0], quantity) is not None
    assert outcome.readings[0].device_id == keys.parse_raw_key(key)[1]  # type: ignore[index]


def test_a_firehose_batch_of_newline_delimited_envelopes_parses_line_by_line(template: dict[str, Any]) -> None:
    # Given three messages of one device batched by Firehose (the rule's "\n" separator after each record)
    lines = [
        json.dumps(ingest(template, f"shellies/shellyem-C45BBE6C2E8F/emeter/0/{name}", value)[0][1])
        for name, value in (("power", b"100.5"), ("voltage", b"230.1"), ("total", b"1891.9"))
    ]
    batch = ("\n".join(lines) + "\n").encode()
    # When the object is parsed
    outcomes = parse_object(
        batch, source_key="raw/dt=2025-11-27/device=shellyem-C45BBE6C2E8F/x.jsonl", now_ms=RECEIVED_MS
    )
    # Then every envelope gives its reading
    assert [outcome.quarantined for outcome in outcomes] == [None, None, None]


@pytest.mark.parametrize(
    "topic",
    [
        *[record["topic"] for record in mqtt_records()],
        "shellies/online",
        "shellies/shellyem-C45BBE6C2E8F/relay/0",
        "shellyproem50-08f9e0e67204/online",
        "shellyproem50-08f9e0e67204/rpc",
    ],
)
def test_the_local_bridge_writes_exactly_what_the_cloud_rules_write(template: dict[str, Any], topic: str) -> None:
    # Given one message, seen by the deployed rules and by the local stand-in (wattline.bridge)
    from wattline.bridge import raw_records

    payload = b'{"src":"x","params":{"ts":1}}' if "/rpc" in topic or "/status/" in topic else b"231.5"
    # When both store it
    cloud = ingest(template, topic, payload)
    local = raw_records(topic, payload, RECEIVED_MS, unique=lambda: UUID)
    # Then the keys and the stored envelopes are identical (or both write nothing)
    assert [(record.key, json.loads(record.line)) for record in local] == cloud
