"""The scheduled triggers as packaged: the watchdog's EventBridge rule and the archiver's EventBridge Scheduler
schedule, created on moto server from the templates, and what they invoke their function with, run through the
deployed handlers configured with the template's environment.

moto fires no schedule on time (neither an EventBridge rule's ScheduleExpression nor a Scheduler schedule), so the
firing is the test's: for the rule, an event with the Scheduled Event's source and type is put on the default bus,
which moto delivers to every rule without a pattern (AWS would not: a schedule rule matches no put event, and
PutEvents refuses `aws.*` sources); for the Scheduler schedule, the template's input with its context attribute
filled in as Scheduler fills it. docs/aws.md (section 2) lists what is real here and what is not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from helpers.archive import put_daily_manifest
from helpers.aws_events import ACCOUNT, FakeLambdaContext, scheduled_event
from helpers.event_rules import receive, rule_targeting, rule_to_queue
from helpers.serverless import with_bucket

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore

pytestmark = pytest.mark.servers

REGION = "eu-central-1"
DEVICE = "shellyem-C45BBE6C2E8F"
DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def clients(moto_endpoint: str) -> dict[str, Any]:
    import boto3

    names = ("sqs", "events", "scheduler")
    return {name: boto3.client(name, endpoint_url=moto_endpoint, region_name=REGION) for name in names}


@pytest.fixture
def store(moto_endpoint: str) -> S3ObjectStore:
    store = S3ObjectStore(f"wattline-sched-{uuid.uuid4().hex[:10]}", endpoint_url=moto_endpoint, region=REGION)
    store.client.create_bucket(Bucket=store.name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return store


def function_environment(
    template: dict[str, Any], function: str, store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function's environment as the template sets it (on the test's bucket), plus the moto endpoint."""
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    for name, value in with_bucket(variables, store.name).items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", store.client.meta.endpoint_url)


@pytest.fixture
def watchdog(
    realtime_aggregator_template: dict[str, Any], store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The deployed watchdog with near-real-time alerts on, publishing to an emulator address (it has nothing to
    publish on an empty bucket, so no request is made)."""
    from aws_aggregator import settings, watchdog
    from wattline import realtime

    function_environment(realtime_aggregator_template, "WatchdogLambdaFunction", store, monkeypatch)
    monkeypatch.setenv("WATTLINE_PUBSUB_ENDPOINT", "http://127.0.0.1:9")
    caches = (settings.get_settings, settings.get_store, realtime.get_forwarder)
    for cached in caches:
        cached.cache_clear()
    yield watchdog.handler
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def archiver(archiver_template: dict[str, Any], store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_archiver import settings
    from aws_archiver.handler import handler

    function_environment(archiver_template, "ArchiveLambdaFunction", store, monkeypatch)
    settings.get_settings.cache_clear()
    settings.get_stores.cache_clear()
    yield handler
    settings.get_settings.cache_clear()
    settings.get_stores.cache_clear()


def test_the_watchdog_rule_delivers_the_scheduled_event_the_handler_runs_on(
    realtime_aggregator_template: dict[str, Any], clients: dict[str, Any], watchdog: Any
) -> None:
    from aws_aggregator.watchdog import WatchdogRequest

    # Given the watchdog's rule as packaged with realtimeAlerts=true: every 5 minutes, on, its target setting no
    # input, so Lambda gets the Scheduled Event itself
    logical_id, properties = rule_targeting(realtime_aggregator_template, "WatchdogLambdaFunction")
    assert (properties["ScheduleExpression"], properties["State"]) == ("rate(5 minutes)", "ENABLED")
    (target,) = properties["Targets"]
    assert set(target) == {"Arn", "Id"}
    # When moto's EventBridge has the rule (its target an SQS queue) and a Scheduled Event is put on the bus
    events, sqs = clients["events"], clients["sqs"]
    with rule_to_queue(events, sqs, logical_id, properties) as rule:
        described = events.describe_rule(Name=rule.name)
        events.put_events(
            Entries=[{"Source": "aws.events", "DetailType": "Scheduled Event", "Detail": "{}", "Resources": []}]
        )
        (delivered,) = receive(sqs, rule.queue_url, 1)
    # Then moto kept the schedule as declared, and delivered the event
    assert (described["ScheduleExpression"], described["State"]) == ("rate(5 minutes)", "ENABLED")
    assert (delivered["source"], delivered["detail-type"], delivered["detail"]) == ("aws.events", "Scheduled Event", {})
    # ... which the handler's model accepts, as it accepts the event AWS documents; neither sets `now`: the watchdog
    # judges silence at the wall clock of its run
    for event in (delivered, scheduled_event(described["Arn"])):
        assert WatchdogRequest.model_validate(event).now is None
    # ... and the deployed handler runs on it (an empty bucket: nothing silent, nothing published)
    before = datetime.now(UTC)
    summary = watchdog(delivered, FakeLambdaContext())
    assert summary["enabled"] is True
    assert (summary["devices"], summary["alerts"], summary["published"]) == (0, [], [])
    assert datetime.fromisoformat(summary["now"]) >= before


def test_the_archive_schedule_invokes_the_archiver_with_the_scheduled_time_as_now(
    archiver_template: dict[str, Any], clients: dict[str, Any], store: S3ObjectStore, archiver: Any
) -> None:
    from aws_archiver.handler import ArchiveRequest

    # Given the archiver's EventBridge Scheduler schedule as packaged
    schedule = archiver_template["Resources"]["DailyArchiveSchedule"]["Properties"]
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["ArchiveLambdaFunction", "Arn"]}
    # When it is created on moto's Scheduler, with the ARNs CloudFormation would resolve
    scheduler = clients["scheduler"]
    name = f"{schedule['Name']}-{uuid.uuid4().hex[:8]}"
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:wattline-aws-archiver-dev-archive"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/wattline-aws-archiver-dev-scheduler"
    scheduler.create_schedule(
        Name=name,
        **{key: schedule[key] for key in ("Description", "ScheduleExpression", "ScheduleExpressionTimezone")},
        FlexibleTimeWindow=schedule["FlexibleTimeWindow"],
        State=schedule["State"],
        Target={**target, "Arn": function_arn, "RoleArn": role_arn},
    )
    try:
        stored = scheduler.get_schedule(Name=name)
    finally:
        scheduler.delete_schedule(Name=name)
    # Then moto kept it as declared: daily at 03:00 UTC, the input carrying Scheduler's scheduled-time attribute
    assert (stored["ScheduleExpression"], stored["ScheduleExpressionTimezone"]) == ("cron(0 3 * * ? *)", "UTC")
    assert stored["Target"]["Input"] == target["Input"]
    # When it fires (moto never does): Scheduler puts the scheduled time into the input and invokes the function
    fired_at = datetime(2026, 11, 27, 3, tzinfo=UTC)
    payload = json.loads(stored["Target"]["Input"].replace("<aws.scheduler.scheduled-time>", "2026-11-27T03:00:00Z"))
    # Then the handler's model reads the scheduled time as `now`
    assert ArchiveRequest.model_validate(payload).now == fired_at
    # ... and the archiver, with the packaged settings (GLACIER, minAgeDays 2), archives an aggregated day a week old
    start_ms = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1000)
    raw = {
        keys.raw_key(DAY, DEVICE, start_ms + i * 30_000, str(uuid.UUID(int=i))): start_ms + i * 30_000 for i in range(2)
    }
    for key, received_ms in raw.items():
        envelope = {"topic": f"shellies/{DEVICE}/emeter/0/power", "received_ms": received_ms, "payload_b64": "MTAw"}
        store.put(key, json.dumps(envelope).encode(), content_type="application/json")
    put_daily_manifest(store, DAY, DEVICE, len(raw))
    response = archiver(payload, FakeLambdaContext())
    (archived,) = [result for result in response["results"] if result["status"] == "archived"]
    assert (archived["device_id"], archived["date"], archived["deleted"]) == (DEVICE, DAY.isoformat(), 2)
    assert store.client.head_object(Bucket=store.name, Key=archived["bundle_key"])["StorageClass"] == "GLACIER"
