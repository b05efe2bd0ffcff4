"""Helpers for the AWS-side integration tests (importable by name; pytest puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpers.aws_events import FakeLambdaContext
from helpers.event_rules import receive

__all__ = ["DataBucket", "FakeLambdaContext", "deliver_to_validate"]


@dataclass
class DataBucket:
    """A fresh data bucket whose object events go to EventBridge (as the ingest stack configures it)."""

    name: str
    endpoint: str


def deliver_to_validate(sqs_client: Any, queue_url: str, objects: int, context: Any) -> list[dict[str, Any]]:
    """The `objects` events validate's rule delivered (into its stand-in queue), each handed to the validate handler
    as Lambda invokes it: one event per invocation, the message body being the event. The handler's results."""
    from aws_aggregator import validate

    return [validate.handler(event, context) for event in receive(sqs_client, queue_url, objects)]
