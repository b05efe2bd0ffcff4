"""The aws-aggregator entry points: importable without configuration; they accept what the deployment sends."""

from __future__ import annotations

import importlib

import pytest
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from helpers.aws_events import object_created

from aws_aggregator.events import AggregateRequest

# S3's "Object Created" event on EventBridge, verbatim from the AWS documentation (AmazonS3/latest/userguide/
# ev-events.html), which validate's rule hands to the function unchanged.
DOCUMENTED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2021-11-12T00:00:00Z",
    "region": "ca-central-1",
    "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
    "detail": {
        "version": "0",
        "event-version": "1.0",  # in the current documentation, not in older events
        "bucket": {"name": "amzn-s3-demo-bucket1"},
        "object": {
            "key": "example-key",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
            "sequencer": "617f08299329d189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}


@pytest.mark.parametrize("module", ["validate", "plan", "aggregate", "watchdog"])
def test_each_handler_module_imports_without_any_configuration(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_BUCKET", raising=False)
    handler = importlib.import_module(f"aws_aggregator.{module}").handler
    assert callable(handler)


def test_the_documented_object_created_event_parses_into_validates_model() -> None:
    event = S3EventNotificationEventBridgeModel.model_validate(DOCUMENTED)
    assert (event.detail.bucket.name, event.detail.object.key) == ("amzn-s3-demo-bucket1", "example-key")


def test_a_key_arrives_as_stored_and_the_model_leaves_it_so() -> None:
    # EventBridge does not URL-encode keys (an S3 event notification would carry "a+b%2Bc%2520d.jsonl")
    key = "raw/dt=2026-11-27/device=shellyem-C45BBE6C2E8F/a b+c%20d.jsonl"
    event = S3EventNotificationEventBridgeModel.model_validate(object_created("wattline-data", key))
    assert event.detail.object.key == key


def test_a_map_item_parses_into_an_aggregate_request() -> None:
    request = AggregateRequest.model_validate({"device_id": "shellyem-1", "date": "2026-11-26", "extra": 1})
    assert (request.device_id, request.date.isoformat()) == ("shellyem-1", "2026-11-26")


def test_settings_are_validated_on_first_use_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from aws_aggregator.settings import get_settings

    monkeypatch.delenv("WATTLINE_BUCKET", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="bucket"):
            get_settings()
    finally:
        get_settings.cache_clear()
