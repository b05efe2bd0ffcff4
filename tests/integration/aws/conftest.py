"""The AWS-side integration tests on the shared moto server (S3, SQS, EventBridge) and mosquitto (MQTT) of
tests/integration/conftest.py: clients, a fresh data bucket per test sending its object events to EventBridge (as
the ingest stack configures it), validate's EventBridge rule as the packaged template declares it (its target an
SQS queue), and the aggregator's environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_helpers import DataBucket, FakeLambdaContext
from helpers.event_rules import RuleToQueue, rule_targeting, rule_to_queue

REGION = "eu-central-1"


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def sqs_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def events_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("events", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def data_bucket(s3_client: Any, moto_endpoint: str) -> DataBucket:
    """A fresh bucket with EventBridge notifications on (infra/aws/wattline-ingest.yml's EventBridgeConfiguration)."""
    name = f"wattline-data-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3_client.put_bucket_notification_configuration(
        Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    return DataBucket(name, moto_endpoint)


@pytest.fixture
def validate_rule(
    data_bucket: DataBucket, aggregator_template: dict[str, Any], events_client: Any, sqs_client: Any
) -> Iterator[RuleToQueue]:
    """validate's rule from the packaged template, on the test's bucket, delivering into an SQS queue."""
    logical_id, properties = rule_targeting(aggregator_template, "ValidateLambdaFunction")
    with rule_to_queue(events_client, sqs_client, logical_id, properties, bucket=data_bucket.name) as rule:
        yield rule


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aggregator_env(data_bucket: DataBucket, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataBucket]:
    """The service's environment pointing at moto; the handlers' cached settings and stores are reset around."""
    from aws_aggregator import settings

    monkeypatch.setenv("WATTLINE_BUCKET", data_bucket.name)
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", data_bucket.endpoint)
    monkeypatch.setenv("WATTLINE_CONCURRENCY", "8")
    monkeypatch.setenv("WATTLINE_GRACE_HOURS", "2")
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
    yield data_bucket
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
