"""S3 → EventBridge → validate, run for real on moto server.

The data bucket sends its object events to EventBridge (as infra/aws/wattline-ingest.yml configures it); validate's
rule is created on moto's EventBridge exactly as the packaged template declares it (pattern, state, target), the
bucket param substituted, but with an SQS queue as the target because moto runs no Lambda code without Docker. The
raw objects are real Shelly messages in the envelope the IoT rules write; every event moto puts in the queue is
handed to the deployed validate handler as Lambda invokes it (one event per invocation), and the outcome is read
back from S3. moto's S3 events skip a target's input settings; tests/unit/infra checks the deployed target has none,
so what moto delivers is what Lambda would get. docs/aws.md (section 2) lists what moto does and does not do here.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers.aws_events import FakeLambdaContext
from helpers.captures import real_messages
from helpers.event_rules import RuleToQueue, receive, rule_targeting, rule_to_queue

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore
from wattline.models import Envelope

pytestmark = pytest.mark.servers

REGION = "eu-central-1"
DAY = date(2026, 11, 20)
GEN1 = "shellyem3-68C63AFAF952"
GEN1_OTHER = "shellyem-D3B45C"
# A Firehose/bridge-style object name that URL-decoding would change ("+" → " ", "%2B" → "+"): S3 event
# notifications would carry it as "batch+1%2B2%252B3.jsonl", EventBridge carries it as it is.
ODD_NAME = "batch 1+2%2B3.jsonl"


@pytest.fixture(scope="module")
def clients(moto_endpoint: str) -> dict[str, Any]:
    import boto3

    return {
        name: boto3.client(name, endpoint_url=moto_endpoint, region_name=REGION) for name in ("s3", "sqs", "events")
    }


@pytest.fixture
def store(clients: dict[str, Any], moto_endpoint: str) -> S3ObjectStore:
    """A fresh data bucket whose object events go to EventBridge, as the ingest stack configures it."""
    name = f"wattline-eb-{uuid.uuid4().hex[:10]}"
    s3 = clients["s3"]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}})
    return S3ObjectStore(name, endpoint_url=moto_endpoint, region=REGION)


@pytest.fixture
def rule(aggregator_template: dict[str, Any], clients: dict[str, Any], store: S3ObjectStore) -> Iterator[RuleToQueue]:
    logical_id, properties = rule_targeting(aggregator_template, "ValidateLambdaFunction")
    with rule_to_queue(clients["events"], clients["sqs"], logical_id, properties, bucket=store.name) as created:
        yield created


@pytest.fixture
def validate(store: S3ObjectStore, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The deployed handler, configured through its environment as serverless.yml sets it."""
    from aws_aggregator import settings
    from aws_aggregator.validate import handler

    monkeypatch.setenv("WATTLINE_BUCKET", store.name)
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", moto_endpoint)
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
    yield handler
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()


def envelope_line(topic: str, payload: str, received: datetime) -> bytes:
    """One MQTT message as the IoT rules store it (docs/aws.md, "What the rules store")."""
    received_ms = int(received.timestamp() * 1000)
    encoded = base64.b64encode(payload.encode()).decode()
    return Envelope(topic=topic, received_ms=received_ms, payload_b64=encoded).to_json_line().encode()


def messages_of(device: str) -> list[tuple[str, str]]:
    return [(topic, payload) for topic, payload in real_messages() if topic.split("/")[1] == device]


def test_raw_objects_reach_validate_through_eventbridge_and_are_quarantined_or_marked_dirty(
    store: S3ObjectStore,
    rule: RuleToQueue,
    clients: dict[str, Any],
    validate: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = datetime(2026, 11, 20, 8, tzinfo=UTC)
    # Given a device-day that is already aggregated (its daily file exists)
    store.put(keys.daily_readings_key(DAY, GEN1), b"", content_type="application/gzip")
    # When a late direct-mode object of that day lands (one real Gen1 message, keyed as the IoT rule keys it)
    topic, payload = messages_of(GEN1)[1]
    late_key = keys.raw_key(DAY, GEN1, int(start.timestamp() * 1000), str(uuid.uuid4()))
    store.put(late_key, envelope_line(topic, payload, start), content_type="application/json")
    # ... and a batch of another meter's real messages plus one that is not a number, under a name URL-decoding
    # would change
    batch = messages_of(GEN1_OTHER)
    batch.append((f"shellies/{GEN1_OTHER}/emeter/0/power", "not-a-number"))
    lines = [envelope_line(t, p, start + timedelta(seconds=i)) for i, (t, p) in enumerate(batch)]
    odd_key = f"{keys.raw_prefix(DAY, GEN1_OTHER)}{ODD_NAME}"
    store.put(odd_key, b"\n".join(lines) + b"\n", content_type="application/x-ndjson")
    # ... and an object outside raw/
    store.put("exports/report.json", b"{}", content_type="application/json")
    # ... and every event the rule delivered is handed to the validate handler
    events = receive(clients["sqs"], rule.queue_url, 2)
    results = {result["source_key"]: result for result in (validate(event, FakeLambdaContext()) for event in events)}

    # Then moto's EventBridge delivered one Object Created event per raw object, keys as stored (not URL-encoded)
    assert {event["detail"]["object"]["key"] for event in events} == {late_key, odd_key}
    assert {(event["source"], event["detail-type"]) for event in events} == {("aws.s3", "Object Created")}
    # ... the late object is valid and marked its day dirty
    assert (results[late_key]["received"], results[late_key]["quarantined"], results[late_key]["late"]) == (1, 0, True)
    assert store.get(keys.dirty_key(DAY, GEN1)) == late_key.encode()
    # ... the batch was read under its real name: the bad message is quarantined beside the source's name
    assert (results[odd_key]["received"], results[odd_key]["quarantined"]) == (len(batch), 1)
    assert results[odd_key]["reasons"] == {"non_numeric_value": 1}
    quarantined = store.get(keys.quarantine_key(DAY, GEN1_OTHER, ODD_NAME)).decode().splitlines()
    assert [json.loads(line)["reason"] for line in quarantined] == ["non_numeric_value"]
    assert results[odd_key]["late"] is False and store.head(keys.dirty_key(DAY, GEN1_OTHER)) is None
    # ... the metrics name the reason
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_reason = [m for m in emitted if "EnvelopesQuarantinedByReason" in m]
    assert [m["reason"] for m in by_reason] == ["non_numeric_value"]
    # ... and validate's own writes (quarantine/, state/dirty/) and the object outside raw/ triggered nothing
    assert receive(clients["sqs"], rule.queue_url, 0, timeout=1) == []


def test_an_event_whose_object_is_already_gone_is_skipped(
    store: S3ObjectStore, rule: RuleToQueue, clients: dict[str, Any], validate: Any
) -> None:
    # Given a raw object that was deleted before its event was handled (a replay after the archiver ran)
    key = keys.raw_key(DAY, GEN1, int(datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp() * 1000), str(uuid.uuid4()))
    store.put(key, envelope_line(*messages_of(GEN1)[0], datetime(2026, 11, 20, 9, tzinfo=UTC)))
    store.delete(key)
    (event,) = receive(clients["sqs"], rule.queue_url, 1)
    # When validate gets the event
    result = validate(event, FakeLambdaContext())
    # Then it skips it without writing anything
    assert result == {"source_key": key, "gone": True}
    assert list(store.list("quarantine/")) == [] and list(store.list("state/")) == []
