"""The aws-aggregator entry points: importable without configuration; they accept what the deployment sends."""

from __future__ import annotations

import importlib

import pytest

from aws_aggregator.events import AggregateRequest, S3Notification

# What the EventBridge input transformer in services/aws-aggregator/serverless.yml builds.
EVENTBRIDGE_REBUILT = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "eu-central-1",
            "eventTime": "2026-11-27T10:00:00Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AROA"},
            "requestParameters": {"sourceIPAddress": "s3.amazonaws.com"},
            "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "R"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "wattline-eventbridge",
                "bucket": {"name": "data", "ownerIdentity": {"principalId": "1"}, "arn": "arn:aws:s3:::data"},
                "object": {"key": "raw/dt=2026-11-27/device=d/1-u.json", "size": 10, "eTag": "e", "sequencer": "1"},
            },
        }
    ]
}


@pytest.mark.parametrize("module", ["validate", "plan", "aggregate"])
def test_each_handler_module_imports_without_any_configuration(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_BUCKET", raising=False)
    handler = importlib.import_module(f"aws_aggregator.{module}").handler
    assert callable(handler)


def test_the_s3_event_rebuilt_from_eventbridge_parses() -> None:
    event = S3Notification.model_validate(EVENTBRIDGE_REBUILT)
    assert event.Records[0].s3.object.key == "raw/dt=2026-11-27/device=d/1-u.json"
    assert event.Records[0].s3.bucket.name == "data"


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
