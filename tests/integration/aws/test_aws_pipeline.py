"""The AWS-side data path on real local servers.

Real-format Shelly messages are published with paho-mqtt to mosquitto; the bridge (the IoT rules' stand-in) writes
raw objects to S3 (moto server); moto sends their `Object Created` events to EventBridge, where validate's rule
from the packaged template delivers them into an SQS queue standing in for the function, and each is handed to the
validate handler as Lambda invokes it; then the plan and aggregate handlers run as the Step Functions state machine
calls them.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from aws_helpers import DataBucket, FakeLambdaContext, deliver_to_validate
from helpers.event_rules import RuleToQueue, receive
from paho.mqtt.enums import CallbackAPIVersion

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore
from wattline.bridge import BridgeMode, MqttBridge

pytestmark = pytest.mark.servers

REGION = "eu-central-1"
GEN1 = "shellyem3-68C63AFAF952"
GEN2 = "shelly3em63g3-48f6eead1a8c"
# Real payloads (tests/fixtures/shelly-payloads.json p056-p068, p081, p082); Gen2 NotifyStatus frames in the shape
# of p083 carrying the em1 fields of p081/p082.
GEN1_CYCLE = [
    ("relay/0", b"off"),
    ("emeter/0/power", b"120.11"),
    ("emeter/0/pf", b"0.71"),
    ("emeter/0/current", b"0.71"),
    ("emeter/0/voltage", b"239.03"),
    ("emeter/1/power", b"116.23"),
    ("emeter/2/voltage", b"240.50"),
]
GEN2_STATUS = b'{"id":0,"current":0.068,"voltage":229.5,"act_power":2.3,"aprt_power":15.6,"pf":0.15,"freq":50.0}'


def notify(ts: float, power: float) -> bytes:
    frame = {
        "src": GEN2,
        "dst": f"{GEN2}/events",
        "method": "NotifyStatus",
        "params": {"ts": ts, "em1:0": {"id": 0, "act_power": power, "current": 0.5}},
    }
    return json.dumps(frame, separators=(",", ":")).encode()


@pytest.fixture
def publisher(mosquitto_port: int) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wattline-test-meter")
    client.connect("127.0.0.1", mosquitto_port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def publish_all(client: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    for topic, payload in messages:
        client.publish(topic, payload, qos=1).wait_for_publish(timeout=5)


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_mqtt_messages_become_validated_deduplicated_daily_files(
    aggregator_env: DataBucket,
    validate_rule: RuleToQueue,
    mosquitto_port: int,
    publisher: mqtt.Client,
    sqs_client: Any,
    s3_client: Any,
    lambda_context: FakeLambdaContext,
) -> None:
    from aws_aggregator import aggregate, plan

    bucket = aggregator_env
    store = S3ObjectStore(bucket.name, endpoint_url=bucket.endpoint, region=REGION)
    now_s = time.time()
    gen1 = [(f"shellies/{GEN1}/{suffix}", payload) for suffix, payload in GEN1_CYCLE]
    gen2 = [
        (f"{GEN2}/status/em1:0", GEN2_STATUS),
        (f"{GEN2}/events/rpc", notify(round(now_s + 5, 2), 100.0)),
        (f"{GEN2}/events/rpc", notify(round(now_s + 5, 2), 100.0)),  # a QoS 1 redelivery: same frame, same device ts
        (f"{GEN2}/online", b"true"),
    ]
    bad = [
        (f"shellies/{GEN1}/emeter/0/power", b"not-a-number"),  # quarantined: non_numeric_value
        ("shellies/bad$id/emeter/0/power", b"1"),  # unsafe device id: raw/…/device=_invalid/, bad_device_id
    ]
    messages = gen1 + gen1[1:2] + gen2 + bad  # gen1[1] published twice in a row: a redelivery within 2 s
    # Given the bridge subscribed to the broker in direct mode (one object per message, like the IoT rule)
    with MqttBridge(store, port=mosquitto_port, mode=BridgeMode.DIRECT) as bridge:
        # When a Gen1 and a Gen2 meter publish
        publish_all(publisher, messages)
        wait_for(lambda: bridge.stats.objects == len(messages))
    assert bridge.stats.failures == 0
    day = datetime.fromtimestamp(now_s, tz=UTC).date()

    # Then every raw object is validated once, from its EventBridge event
    results = deliver_to_validate(sqs_client, validate_rule.queue_url, len(messages), lambda_context)
    assert sum(result["received"] for result in results) == len(messages)
    reasons: dict[str, int] = {}
    for result in results:
        for reason, count in result["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert reasons == {"bad_device_id": 1, "non_numeric_value": 1}
    quarantined = [info.key for info in store.list("quarantine/")]
    assert len(quarantined) == 2 and any(f"/device={GEN1}/" in key for key in quarantined)

    # And plan, after the grace period, lists both meters (never the _invalid placeholder)
    tomorrow_3am = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
    planned = plan.handler({"now": tomorrow_3am.isoformat()}, lambda_context)
    expected = [{"device_id": device, "date": day.isoformat()} for device in (GEN2, GEN1)]
    assert planned == {"items": expected}

    # And aggregate returns counts that add up, for both meters
    counts = {item["device_id"]: aggregate.handler(item, lambda_context) for item in planned["items"]}
    for result in counts.values():
        assert result["envelopes"] == result["kept"] + result["quarantined"] + result["duplicates"]
    assert (counts[GEN1]["envelopes"], counts[GEN1]["duplicates"], counts[GEN1]["quarantined"]) == (9, 1, 1)
    assert (counts[GEN2]["envelopes"], counts[GEN2]["duplicates"], counts[GEN2]["quarantined"]) == (4, 1, 0)
    body = s3_client.get_object(Bucket=bucket.name, Key=keys.daily_readings_key(day, GEN2))["Body"].read()
    lines = gzip.decompress(body).decode().splitlines()
    assert [json.loads(line).get("power_w") for line in lines if "power_w" in line] == [2.3, 100.0]


def test_late_data_reaggregates_and_replaces_the_daily_file_byte_identically_on_rerun(
    aggregator_env: DataBucket, validate_rule: RuleToQueue, sqs_client: Any, lambda_context: FakeLambdaContext
) -> None:
    from aws_aggregator import aggregate, plan

    bucket = aggregator_env
    store = S3ObjectStore(bucket.name, endpoint_url=bucket.endpoint, region=REGION)
    day = date(2026, 11, 26)
    start_ms = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp() * 1000)
    bridge = MqttBridge(store)  # not connected: `handle` is exactly what a received MQTT message triggers
    # Given a simulated day of three meters, one publish cycle every 2 hours
    devices = [GEN1, "shellyem-D3B45C", "shellyem3-485519D6FEC7"]
    for hour in range(0, 24, 2):
        for index, device in enumerate(devices):
            at = start_ms + hour * 3_600_000 + index * 10
            bridge.handle(f"shellies/{device}/emeter/0/power", f"{100 + hour}.5".encode(), at)
            bridge.handle(f"shellies/{device}/emeter/0/total", f"{1000 + hour * 10}".encode(), at + 1)
    first_events = 12 * len(devices) * 2
    deliver_to_validate(sqs_client, validate_rule.queue_url, first_events, lambda_context)
    planned = plan.handler({"now": "2026-11-27T02:30:00+00:00"}, lambda_context)["items"]
    assert [item["device_id"] for item in planned] == sorted(devices)
    first = {item["device_id"]: aggregate.handler(item, lambda_context) for item in planned}
    original = store.get(keys.daily_readings_key(day, GEN1))

    # When rerun, the file is byte-identical
    again = aggregate.handler({"device_id": GEN1, "date": "2026-11-26"}, lambda_context)
    assert again["sha256"] == first[GEN1]["sha256"]
    assert store.get(keys.daily_readings_key(day, GEN1)) == original
    assert plan.handler({"now": "2026-11-27T03:00:00+00:00"}, lambda_context) == {"items": []}

    # When a late message for that day arrives, validate marks the day dirty and plan picks it up again
    bridge.handle(f"shellies/{GEN1}/emeter/1/power", b"55.5", start_ms + 23 * 3_600_000)
    [late] = deliver_to_validate(sqs_client, validate_rule.queue_url, 1, lambda_context)
    assert late["late"] is True
    assert store.head(keys.dirty_key(day, GEN1)) is not None
    replanned = plan.handler({"now": "2026-11-27T05:00:00+00:00"}, lambda_context)
    assert replanned == {"items": [{"device_id": GEN1, "date": "2026-11-26"}]}

    # Then the re-aggregation replaces the file, counts the late message and clears the marker
    replaced = aggregate.handler(replanned["items"][0], lambda_context)
    assert replaced["envelopes"] == first[GEN1]["envelopes"] + 1
    assert replaced["readings"] == first[GEN1]["readings"] + 1
    assert replaced["sha256"] != first[GEN1]["sha256"]
    assert replaced["dirty_cleared"] is True
    assert store.head(keys.dirty_key(day, GEN1)) is None
    assert plan.handler({"now": "2026-11-27T06:00:00+00:00"}, lambda_context) == {"items": []}


def test_batched_objects_from_the_bridge_aggregate_like_per_message_objects(
    aggregator_env: DataBucket,
    validate_rule: RuleToQueue,
    mosquitto_port: int,
    publisher: mqtt.Client,
    sqs_client: Any,
    lambda_context: FakeLambdaContext,
) -> None:
    from aws_aggregator import aggregate

    bucket = aggregator_env
    store = S3ObjectStore(bucket.name, endpoint_url=bucket.endpoint, region=REGION)
    gen1 = [(f"shellies/{GEN1}/{suffix}", payload) for suffix, payload in GEN1_CYCLE]
    # Given the bridge in batched mode (newline-delimited objects per device-day, like Firehose)
    with MqttBridge(store, port=mosquitto_port, mode=BridgeMode.BATCHED, batch_seconds=30) as bridge:
        publish_all(publisher, [*gen1, (f"{GEN2}/status/em1:0", GEN2_STATUS)])
        wait_for(lambda: bridge.stats.messages == len(gen1) + 1)
    # When the batches are validated and aggregated
    batches = [info.key for info in store.list("raw/")]
    assert len(batches) == 2 and all(key.rsplit("/", 1)[1].startswith("batch-") for key in batches)
    results = deliver_to_validate(sqs_client, validate_rule.queue_url, 2, lambda_context)
    day = keys.parse_raw_key(batches[0])
    assert day is not None
    counts = aggregate.handler({"device_id": GEN1, "date": day[0].isoformat()}, lambda_context)
    # Then every message of the batch is counted and kept
    assert sorted(result["received"] for result in results) == [1, len(gen1)]
    assert (counts["envelopes"], counts["kept"], counts["readings"]) == (len(gen1), len(gen1), len(gen1))


def test_late_data_after_the_archiver_removed_the_raw_objects_is_merged_not_lost(
    aggregator_env: DataBucket, validate_rule: RuleToQueue, sqs_client: Any, lambda_context: FakeLambdaContext
) -> None:
    from aws_aggregator import aggregate

    bucket = aggregator_env
    store = S3ObjectStore(bucket.name, endpoint_url=bucket.endpoint, region=REGION)
    start_ms = int(datetime(2026, 11, 26, tzinfo=UTC).timestamp() * 1000)
    bridge = MqttBridge(store)
    # Given an aggregated day whose raw objects the archiver then deleted
    for hour in range(6):
        bridge.handle(f"shellies/{GEN1}/emeter/0/power", f"{hour}.5".encode(), start_ms + hour * 3_600_000)
    item = {"device_id": GEN1, "date": "2026-11-26"}
    first = aggregate.handler(item, lambda_context)
    for info in list(store.list(keys.raw_prefix(date(2026, 11, 26), GEN1))):
        store.delete(info.key)
    receive(sqs_client, validate_rule.queue_url, 6)  # their events, not validated
    # When a late message arrives and the day is aggregated again
    bridge.handle(f"shellies/{GEN1}/emeter/0/power", b"99.5", start_ms + 20 * 3_600_000)
    deliver_to_validate(sqs_client, validate_rule.queue_url, 1, lambda_context)
    merged = aggregate.handler(item, lambda_context)
    # Then the earlier readings are all still there, plus the late one
    assert merged["mode"] == "merge"
    assert (merged["envelopes"], merged["readings"]) == (first["envelopes"] + 1, first["readings"] + 1)
    body = gzip.decompress(store.get(keys.daily_readings_key(date(2026, 11, 26), GEN1))).decode()
    assert [json.loads(line)["power_w"] for line in body.splitlines()] == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 99.5]
