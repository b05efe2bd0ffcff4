"""Least privilege: no wildcard actions, every resource scoped, one role per function with exactly its prefixes."""

from __future__ import annotations

from typing import Any

import pytest
from infra_templates import (
    INGEST_TEMPLATE,
    OFFLINE_BUCKET,
    grants,
    load_template,
    policy_statements,
    resource_policy_statements,
)

PARTITION_S3 = "arn:${AWS::Partition}:s3:::"
BUCKET = f"{PARTITION_S3}{OFFLINE_BUCKET}"
LOGS = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"


@pytest.fixture(scope="module")
def ingest_template() -> dict[str, Any]:
    return load_template(INGEST_TEMPLATE)


@pytest.fixture(params=["ingest_template", "aggregator_template", "archiver_template"])
def any_template(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param != "ingest_template":
        request.applymarker(pytest.mark.slow)
    template: dict[str, Any] = request.getfixturevalue(request.param)
    return template


def test_no_statement_allows_a_wildcard_action(any_template: dict[str, Any]) -> None:
    # Given every IAM and IoT policy statement of a template
    allowed = [statement for statement in policy_statements(any_template) if statement.effect == "Allow"]
    # Then no action is `*` or a service-wide `svc:*`, and none uses a wildcard inside its name
    assert allowed
    for statement in allowed:
        for action in statement.actions:
            assert "*" not in action, f"{statement.owner} allows {action}"


def test_no_key_bucket_or_topic_policy_allows_a_wildcard_action(any_template: dict[str, Any]) -> None:
    # Given every Allow statement of the templates' resource policies (KMS key policies, bucket policies, ...)
    allowed = [statement for statement in resource_policy_statements(any_template) if statement.effect == "Allow"]
    # Then none allows `*`, a service-wide `svc:*` or any wildcard action: even the account's administration of a
    # key names every KMS action (a Deny, such as the TLS-only `s3:*`, may use one)
    assert allowed
    for statement in allowed:
        assert statement.actions, statement.owner
        for action in statement.actions:
            assert "*" not in action, f"{statement.owner} allows {action}"


def test_every_allowed_resource_is_a_named_arn(any_template: dict[str, Any]) -> None:
    # Given every Allow statement
    for statement in policy_statements(any_template):
        if statement.effect != "Allow":
            continue
        # Then each resource is a specific ARN (a bucket, a prefix under it, a log group, a stream, a function)
        assert statement.resources, f"{statement.owner} has no Resource"
        for resource in statement.resources:
            assert resource != "*", f"{statement.owner} allows {statement.actions} on *"
            assert resource.startswith(("arn:", "Ref:", "${DataBucket.Arn}/")) or resource.endswith(".Arn"), resource
            assert not resource.endswith(":::*"), f"{statement.owner} allows every bucket"


def test_the_iot_rules_may_only_put_objects_under_raw_and_rule_errors(ingest_template: dict[str, Any]) -> None:
    # Given the role the direct-mode rules assume
    # Then it can put objects only under raw/ and rule-errors/ of the data bucket
    assert grants(ingest_template, "IotToS3Role") == {
        ("s3:PutObject", "${DataBucket.Arn}/raw/*"),
        ("s3:PutObject", "${DataBucket.Arn}/rule-errors/*"),
    }


def test_a_device_may_connect_only_as_its_own_thing_name(ingest_template: dict[str, Any]) -> None:
    # Given the device IoT policy
    (connect,) = [
        s for s in policy_statements(ingest_template) if s.owner == "DevicePolicy" and "iot:Connect" in s.actions
    ]
    # Then the only client id allowed is the thing's own name, with the certificate attached to that thing
    assert connect.resources == (
        "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:client/${!iot:Connection.Thing.ThingName}",
    )
    assert connect.condition == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}


def test_a_device_may_publish_only_under_its_own_topic_prefix(ingest_template: dict[str, Any]) -> None:
    # Given the device IoT policy
    (publish,) = [
        s for s in policy_statements(ingest_template) if s.owner == "DevicePolicy" and "iot:Publish" in s.actions
    ]
    # Then topics are limited to <thing>/... (Gen2+) and <gen1 root>/<thing>/... (Gen1 through a bridge)
    topic = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:topic/"
    assert set(publish.resources) == {
        f"{topic}${{!iot:Connection.Thing.ThingName}}/*",
        f"{topic}${{Gen1TopicRoot}}/${{!iot:Connection.Thing.ThingName}}/*",
    }


@pytest.mark.slow
def test_each_function_runs_with_its_own_role(aggregator_template: dict[str, Any]) -> None:
    # Given the packaged aggregator
    functions = {
        logical_id: resource["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, resource in aggregator_template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    # Then validate, plan, aggregate and watchdog each have a distinct role, and there is no shared default role
    assert functions == {
        "ValidateLambdaFunction": "ValidateRole",
        "PlanLambdaFunction": "PlanRole",
        "AggregateLambdaFunction": "AggregateRole",
        "WatchdogLambdaFunction": "WatchdogRole",
    }
    assert "IamRoleLambdaExecution" not in aggregator_template["Resources"]


@pytest.mark.slow
def test_validate_reads_raw_writes_quarantine_and_dirty_and_heads_daily(aggregator_template: dict[str, Any]) -> None:
    assert grants(aggregator_template, "ValidateRole") == {
        ("logs:CreateLogStream", f"{LOGS}wattline-aws-aggregator-dev-validate:*"),
        ("logs:PutLogEvents", f"{LOGS}wattline-aws-aggregator-dev-validate:*"),
        ("s3:ListBucket", BUCKET),
        ("s3:GetObject", f"{BUCKET}/raw/*"),
        ("s3:GetObject", f"{BUCKET}/daily/*"),
        ("s3:PutObject", f"{BUCKET}/quarantine/*"),
        ("s3:PutObject", f"{BUCKET}/state/dirty/*"),
        ("sqs:SendMessage", "ValidateDeadLetterQueue.Arn"),
        # the dead-letter queue is encrypted with the service key
        ("kms:Decrypt", "ServiceKey.Arn"),
        ("kms:GenerateDataKey", "ServiceKey.Arn"),
    }


@pytest.mark.slow
def test_plan_only_lists_and_heads_daily_manifests(aggregator_template: dict[str, Any]) -> None:
    assert grants(aggregator_template, "PlanRole") == {
        ("logs:CreateLogStream", f"{LOGS}wattline-aws-aggregator-dev-plan:*"),
        ("logs:PutLogEvents", f"{LOGS}wattline-aws-aggregator-dev-plan:*"),
        ("s3:ListBucket", BUCKET),
        ("s3:GetObject", f"{BUCKET}/daily/*"),
    }


@pytest.mark.slow
def test_aggregate_reads_raw_writes_daily_and_state_and_deletes_only_dirty_markers(
    aggregator_template: dict[str, Any],
) -> None:
    granted = grants(aggregator_template, "AggregateRole")
    assert granted == {
        ("logs:CreateLogStream", f"{LOGS}wattline-aws-aggregator-dev-aggregate:*"),
        ("logs:PutLogEvents", f"{LOGS}wattline-aws-aggregator-dev-aggregate:*"),
        ("s3:ListBucket", BUCKET),
        ("s3:GetObject", f"{BUCKET}/raw/*"),
        ("s3:GetObject", f"{BUCKET}/daily/*"),
        ("s3:PutObject", f"{BUCKET}/daily/*"),
        ("s3:GetObject", f"{BUCKET}/state/aggregated/*"),
        ("s3:PutObject", f"{BUCKET}/state/aggregated/*"),
        ("s3:GetObject", f"{BUCKET}/state/dirty/*"),
        ("s3:DeleteObject", f"{BUCKET}/state/dirty/*"),
    }


@pytest.mark.slow
def test_the_watchdog_lists_and_reads_raw_and_keeps_only_its_own_markers(aggregator_template: dict[str, Any]) -> None:
    assert grants(aggregator_template, "WatchdogRole") == {
        ("logs:CreateLogStream", f"{LOGS}wattline-aws-aggregator-dev-watchdog:*"),
        ("logs:PutLogEvents", f"{LOGS}wattline-aws-aggregator-dev-watchdog:*"),
        ("s3:ListBucket", BUCKET),
        ("s3:GetObject", f"{BUCKET}/raw/*"),
        ("s3:GetObject", f"{BUCKET}/state/watchdog/*"),
        ("s3:PutObject", f"{BUCKET}/state/watchdog/*"),
    }


@pytest.mark.slow
def test_the_state_machine_may_invoke_only_plan_and_aggregate(aggregator_template: dict[str, Any]) -> None:
    assert grants(aggregator_template, "StateMachineRole") == {
        ("lambda:InvokeFunction", "PlanLambdaFunction.Arn"),
        ("lambda:InvokeFunction", "AggregateLambdaFunction.Arn"),
    }
    assert grants(aggregator_template, "SchedulerRole") == {
        ("states:StartExecution", "Ref:DailyAggregationStateMachine")
    }


@pytest.mark.slow
def test_the_archiver_deletes_only_raw_objects_and_writes_only_archive(archiver_template: dict[str, Any]) -> None:
    granted = grants(archiver_template, "ArchiveRole")
    assert {resource for action, resource in granted if action == "s3:DeleteObject"} == {f"{BUCKET}/raw/*"}
    assert {resource for action, resource in granted if action == "s3:PutObject"} == {f"{BUCKET}/archive/*"}
    assert {resource for action, resource in granted if action == "s3:GetObject"} == {
        f"{BUCKET}/raw/*",
        f"{BUCKET}/daily/*",
        f"{BUCKET}/state/dirty/*",
        f"{BUCKET}/archive/*",
    }
