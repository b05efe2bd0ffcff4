"""Lambda's side of the AWS triggers for tests that call the handlers directly: a context object, and the events
EventBridge delivers to a rule's target, in the shapes the AWS documentation gives. Where a test can, it lets
moto deliver the event instead (tests/integration/aws_infra)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-central-1"


@dataclass
class FakeLambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str = "aws-aggregator-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:aws-aggregator-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/aws-aggregator-test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def object_created(
    bucket: str, key: str, *, size: int = 0, etag: str = "", at: datetime | None = None
) -> dict[str, Any]:
    """S3's `Object Created` event on EventBridge for a PutObject (docs: AmazonS3/latest/userguide/ev-events.html).
    The key is the object's key as stored: EventBridge does not URL-encode it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag, "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject",
        },
    }


def scheduled_event(rule_arn: str, at: datetime | None = None) -> dict[str, Any]:
    """What an EventBridge schedule rule whose target sets no input delivers (docs: eventbridge/latest/userguide/
    eb-run-lambda-schedule.html)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }
