"""S3 → EventBridge → validate: the input transformer in serverless.yml feeds the real handler a usable event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.eventbridge import apply_input_transformer

pytestmark = pytest.mark.servers

SERVICE = Path(__file__).resolve().parents[3] / "services" / "aws-aggregator" / "serverless.yml"


class _Loader(yaml.SafeLoader):
    """serverless.yml with CloudFormation tags; the tags' values are irrelevant here."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def input_transformer() -> dict[str, Any]:
    config = yaml.load(SERVICE.read_text(), _Loader)
    (event,) = config["functions"]["validate"]["events"]
    transformer: dict[str, Any] = event["eventBridge"]["inputTransformer"]
    return transformer


def transform(transformer: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """serverless.yml spells the InputTransformer's keys in camelCase."""
    return apply_input_transformer(transformer["inputPathsMap"], transformer["inputTemplate"], event)


@dataclass
class Context:
    function_name: str = "wattline-aws-aggregator-test-validate"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-central-1:123456789012:function:wattline-aws-aggregator-test-validate"
    )
    aws_request_id: str = "b6af9ac6-7b61-11e6-9a41-93e812345678"


def test_an_object_created_event_reaches_validate_as_an_s3_notification_it_processes(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from aws_aggregator import settings
    from aws_aggregator.validate import handler

    # Given a raw object the IoT rule wrote (a Gen1 relay message) in the data bucket
    bucket = f"wattline-eb-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-central-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    key = "raw/dt=2026-11-27/device=shellyem-C45BBE6C2E8F/1764237600000-0f8fad5b-d9cb-469f-a165-70867728950e.json"
    body = b'{"topic":"shellies/shellyem-C45BBE6C2E8F/relay/0","received_ms":1764237600000,"payload_b64":"b24="}'
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    # And the EventBridge event S3 emits for it
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-27T10:00:00Z",
        "region": "eu-central-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": len(body), "etag": put["ETag"].strip('"'), "sequencer": "00617F0829"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "iot.amazonaws.com",
            "reason": "PutObject",
        },
    }
    monkeypatch.setenv("WATTLINE_BUCKET", bucket)
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", moto_endpoint)
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
    try:
        # When the rule's input transformer builds validate's input and the handler runs
        result = handler(transform(input_transformer(), event), Context())
    finally:
        settings.get_settings.cache_clear()
        settings.get_store.cache_clear()
    # Then the object was read and judged valid
    (validated,) = result["objects"]
    assert validated["source_key"] == key
    assert (validated["received"], validated["quarantined"]) == (1, 0)
