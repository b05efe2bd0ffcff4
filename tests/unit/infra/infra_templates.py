"""Helpers for the deployment tests: load CloudFormation templates, walk IAM statements, evaluate IoT rules.

The IoT evaluator implements only what the wattline rules use (`topic()`, `topic(n)`, `timestamp()`,
`encode(*, 'base64')`, `parse_time("yyyy-MM-dd", timestamp(), "UTC")`, `newuuid()`), exactly as the AWS IoT SQL
reference defines them, and refuses anything else, so a rule edited beyond it fails loudly instead of being
checked against a guess.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from helpers.serverless import OFFLINE_BUCKET as OFFLINE_BUCKET  # re-exported for the tests
from helpers.serverless import ROOT

INGEST_TEMPLATE = ROOT / "infra" / "aws" / "wattline-ingest.yml"
STATE_MACHINE = ROOT / "services" / "aws-aggregator" / "statemachine" / "daily-aggregation.asl.json"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (`!Ref X`, `!Sub ...`, `!GetAtt A.B`, `!If [...]`)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation template (YAML with short-form tags, or JSON) as plain dicts and lists."""
    loaded: dict[str, Any] = (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.load(path.read_text(), _CfnLoader)
    )
    return loaded


def text(value: Any) -> str:
    """The string inside a resource reference: a literal, the template of an Fn::Sub, or `X.Arn` of a GetAtt."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else str(sub[0])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return ".".join(target) if isinstance(target, list) else str(target)
    if isinstance(value, dict) and "Ref" in value:
        return f"Ref:{value['Ref']}"
    raise AssertionError(f"unexpected resource expression {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Statement:
    owner: str  # logical id of the role or policy
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any] | None


def policy_statements(template: dict[str, Any]) -> Iterator[Statement]:
    """Every statement of every IAM role, IAM policy and IoT policy in the template (trust policies excluded)."""
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents: list[dict[str, Any]] = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IoT::Policy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield Statement(
                    owner=logical_id,
                    effect=statement["Effect"],
                    actions=tuple(as_list(statement["Action"])),
                    resources=tuple(text(item) for item in as_list(statement.get("Resource", []))),
                    condition=statement.get("Condition"),
                )


RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
}
"""Resource types whose policy is a property of their own (key policies, bucket, topic and queue policies)."""


def resource_policy_statements(template: dict[str, Any]) -> Iterator[Statement]:
    """Every statement of every resource policy in the template: KMS key policies, S3 bucket policies, SNS topic
    and SQS queue policies. Their `Resource` may be `*` (in a key policy it means the key itself)."""
    for logical_id, resource in template["Resources"].items():
        attribute = RESOURCE_POLICIES.get(resource["Type"])
        if attribute is None:
            continue
        for statement in as_list(resource["Properties"][attribute]["Statement"]):
            yield Statement(
                owner=logical_id,
                effect=statement["Effect"],
                actions=tuple(as_list(statement["Action"])),
                resources=tuple(str(item) for item in as_list(statement.get("Resource", []))),
                condition=statement.get("Condition"),
            )


def grants(template: dict[str, Any], owner: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the Allow statements of one role grant."""
    return {
        (action, resource)
        for statement in policy_statements(template)
        if statement.owner == owner and statement.effect == "Allow"
        for action in statement.actions
        for resource in statement.resources
    }


# --- AWS IoT rules ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    select: str
    topic_filter: str
    where: str | None
    s3_key: str
    firehose: dict[str, Any]


_SQL = re.compile(r"^SELECT (?P<select>.+?) FROM '(?P<filter>[^']+)'(?: WHERE (?P<where>.+))?$", re.DOTALL)


def topic_rules(template: dict[str, Any], gen1_root: str = "shellies") -> list[Rule]:
    rules = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IoT::TopicRule":
            continue
        payload = resource["Properties"]["TopicRulePayload"]
        sql = " ".join(text(payload["Sql"]).replace("${Gen1TopicRoot}", gen1_root).split())
        match = _SQL.match(sql)
        assert match, f"{logical_id}: unexpected SQL {sql!r}"
        (action,) = payload["Actions"]
        condition, firehose, direct = action["Fn::If"]
        assert condition == "UseFirehose"
        rules.append(
            Rule(
                name=logical_id,
                select=match["select"],
                topic_filter=match["filter"],
                where=match["where"],
                s3_key=direct["S3"]["Key"],
                firehose=firehose["Firehose"],
            )
        )
    return rules


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic-filter matching (`+` one level, `#` the rest)."""
    filters, levels = topic_filter.split("/"), topic.split("/")
    for index, part in enumerate(filters):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(filters) == len(levels)


def _topic(topic: str, index: int | None) -> str:
    return topic if index is None else topic.split("/")[index - 1]


def where_holds(where: str | None, topic: str) -> bool:
    if where is None:
        return True
    match = re.fullmatch(r"topic\((\d)\) <> '([^']*)'", where)
    assert match, f"unsupported WHERE {where!r}"
    return _topic(topic, int(match[1])) != match[2]


def evaluate_select(select: str, *, topic: str, received_ms: int, payload: bytes) -> dict[str, Any]:
    """The JSON object the rule's SELECT produces for one message."""
    result: dict[str, Any] = {}
    for item in (part.strip() for part in re.split(r",(?![^(]*\))", select)):
        expression, _as, alias = item.rpartition(" AS ")
        if expression == "topic()":
            result[alias] = topic
        elif expression == "timestamp()":
            result[alias] = received_ms
        elif expression == "encode(*, 'base64')":
            result[alias] = base64.b64encode(payload).decode()
        else:
            raise AssertionError(f"unsupported SELECT item {item!r}")
    return result


def evaluate_key(template: str, *, topic: str, received_ms: int, uuid: str) -> str:
    """An S3 action key with its substitution templates filled in."""

    def substitute(match: re.Match[str]) -> str:
        expression = match[1]
        if expression == 'parse_time("yyyy-MM-dd", timestamp(), "UTC")':
            return datetime.fromtimestamp(received_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
        if expression == "timestamp()":
            return str(received_ms)
        if expression == "newuuid()":
            return uuid
        level = re.fullmatch(r"topic\((\d)\)", expression)
        if level:
            return _topic(topic, int(level[1]))
        raise AssertionError(f"unsupported substitution ${{{expression}}}")

    return re.sub(r"\$\{([^}]*)\}", substitute, template)
