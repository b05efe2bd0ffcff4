"""Helpers for the AWS-side integration tests (importable by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class DataBucket:
    """A fresh data bucket whose raw/ ObjectCreated events go to an SQS queue (as serverless.yml wires to Lambda)."""

    name: str
    queue_url: str
    endpoint: str


def drain_s3_events(
    sqs_client: Any, queue_url: str, expected_records: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """The S3 event notifications in the queue (the s3:TestEvent skipped), until `expected_records` records came."""
    events: list[dict[str, Any]] = []
    records = 0
    deadline = time.monotonic() + timeout
    while records < expected_records and time.monotonic() < deadline:
        response = sqs_client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            sqs_client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body.get("Event") == "s3:TestEvent":
                continue
            events.append(body)
            records += len(body.get("Records", []))
    assert records == expected_records, f"got {records} S3 event records, expected {expected_records}"
    return events


@dataclass
class FakeLambdaContext:
    """What Powertools reads from the Lambda context object."""

    function_name: str = "aws-aggregator-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:aws-aggregator-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/aws-aggregator-test"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000
