"""EventBridge rules of the packaged templates, created for real on moto server with an SQS queue as the target.

moto runs no Lambda code without Docker, so the queue stands in for the function: what moto's EventBridge puts
in it is what the rule would have invoked the function with (an SQS target receives the event as the message
body, exactly as a Lambda target receives it as the payload, when the target sets no input). The tests hand each
body to the deployed handler. What moto does and does not do on this path is listed in docs/aws.md, section 2.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helpers.serverless import with_bucket

# The rule properties boto3's put_rule takes under the same names as CloudFormation's AWS::Events::Rule.
_RULE_PROPERTIES = ("ScheduleExpression", "State", "Description", "EventBusName")


def template_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every AWS::Events::Rule of a template: logical id → Properties."""
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Events::Rule"
    }


def rule_targeting(template: dict[str, Any], function_logical_id: str) -> tuple[str, dict[str, Any]]:
    """(logical id, Properties) of the one rule whose target is the function `function_logical_id`."""
    (found,) = [
        (logical_id, properties)
        for logical_id, properties in template_rules(template).items()
        if any(target["Arn"] == {"Fn::GetAtt": [function_logical_id, "Arn"]} for target in properties["Targets"])
    ]
    return found


@dataclass(frozen=True)
class RuleToQueue:
    """A rule created on moto from a template, its target(s) pointed at `queue_url`."""

    name: str
    queue_url: str
    targets: list[dict[str, Any]]


@contextmanager
def rule_to_queue(
    events: Any, sqs: Any, logical_id: str, properties: dict[str, Any], *, bucket: str | None = None
) -> Iterator[RuleToQueue]:
    """Create the rule exactly as the template declares it (`bucket` replacing the packaged bucket name), except
    that each target's Arn is a fresh SQS queue's and the rule's name gets a unique suffix (the moto server is
    shared by the whole session). Rule, targets and queue are deleted on exit: a rule left behind would get the
    other tests' events."""
    properties = with_bucket(properties, bucket) if bucket is not None else copy.deepcopy(properties)
    suffix = uuid.uuid4().hex[:8]
    name = f"{properties.get('Name', logical_id)}-{suffix}"[:64]
    queue_url = sqs.create_queue(QueueName=f"rule-target-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule: dict[str, Any] = {key: properties[key] for key in _RULE_PROPERTIES if key in properties}
    if "EventPattern" in properties:
        rule["EventPattern"] = json.dumps(properties["EventPattern"])
    events.put_rule(Name=name, **rule)
    targets = [{**target, "Arn": queue_arn} for target in properties["Targets"]]
    events.put_targets(Rule=name, Targets=targets)
    try:
        yield RuleToQueue(name, queue_url, targets)
    finally:
        events.remove_targets(Rule=name, Ids=[target["Id"] for target in targets])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)


def receive(sqs: Any, queue_url: str, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The JSON bodies of exactly `expected` messages of the queue (each deleted once received); fails on fewer
    within `timeout`, or on more arriving within a short settle time after them."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        bodies.extend(_take(sqs, queue_url, wait_s=1))
    assert len(bodies) == expected, f"got {len(bodies)} events, expected {expected}: {bodies}"
    extra = _take(sqs, queue_url, wait_s=0)
    assert not extra, f"more events than expected: {extra}"
    return bodies


def _take(sqs: Any, queue_url: str, wait_s: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
    bodies = []
    for message in response.get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        bodies.append(json.loads(message["Body"]))
    return bodies
