"""The AWS-side integration tests on the shared moto server (S3 + SQS) and mosquitto (MQTT) of
tests/integration/conftest.py: clients, a fresh bucket with its event queue per test, the aggregator's environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_helpers import DataBucket, FakeLambdaContext

REGION = "eu-central-1"


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def sqs_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def data_bucket(s3_client: Any, sqs_client: Any, moto_endpoint: str) -> DataBucket:
    name = f"wattline-data-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    queue_url = sqs_client.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    queue_arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3_client.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}},
                }
            ]
        },
    )
    return DataBucket(name, queue_url, moto_endpoint)


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
