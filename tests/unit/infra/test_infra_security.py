"""What the security scan asks for, in the templates themselves (docs/aws.md, "Security scan"): customer-managed keys
for alarm topics, log groups and the dead-letter queue, reserved concurrency, versioned and access-logged buckets."""

from __future__ import annotations

from typing import Any

import pytest
from infra_templates import INGEST_TEMPLATE, load_template

DEFAULT_ACCESS_LOG_BUCKET = {"Fn::Sub": "wattline-access-logs-${AWS::AccountId}-${AWS::Region}"}


@pytest.fixture(scope="module")
def ingest_template() -> dict[str, Any]:
    return load_template(INGEST_TEMPLATE)


TEMPLATES = {
    # template fixture: the logical id of its customer-managed key
    "ingest_template": "IngestKey",
    "aggregator_template": "ServiceKey",
    "archiver_template": "ServiceKey",
}


@pytest.fixture(params=list(TEMPLATES))
def template_and_key(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str]:
    if request.param != "ingest_template":
        request.applymarker(pytest.mark.slow)
    template: dict[str, Any] = request.getfixturevalue(request.param)
    return template, TEMPLATES[request.param]


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in template["Resources"].items() if r["Type"] == resource_type}


def test_each_stack_has_one_rotated_customer_managed_key(template_and_key: tuple[dict[str, Any], str]) -> None:
    template, key = template_and_key
    assert set(of_type(template, "AWS::KMS::Key")) == {key}
    properties = template["Resources"][key]["Properties"]
    assert properties["EnableKeyRotation"] is True
    # ... whose policy lets CloudWatch alarms publish to the encrypted topic, and CloudWatch Logs use it only for
    # the stack's own log groups
    statements = {statement["Sid"]: statement for statement in properties["KeyPolicy"]["Statement"]}
    alarms = statements["CloudWatchAlarmsPublishToTheEncryptedTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    (logs,) = [s for sid, s in statements.items() if sid.startswith("CloudWatchLogsEncrypts")]
    (context,) = next(iter(logs["Condition"].values())).values()
    assert "log-group:/aws/" in context["Fn::Sub"]


def test_every_alarm_topic_and_log_group_is_encrypted_with_the_stacks_key(
    template_and_key: tuple[dict[str, Any], str],
) -> None:
    template, key = template_and_key
    encrypted_by = {"Fn::GetAtt": [key, "Arn"]}
    topics = of_type(template, "AWS::SNS::Topic")
    assert topics
    for logical_id, topic in topics.items():
        assert topic["Properties"]["KmsMasterKeyId"] == encrypted_by, logical_id
    for logical_id, group in of_type(template, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == encrypted_by, logical_id
    for logical_id, queue in of_type(template, "AWS::SQS::Queue").items():
        assert queue["Properties"]["KmsMasterKeyId"] == encrypted_by, logical_id


@pytest.mark.slow
def test_every_function_has_reserved_concurrency(
    aggregator_template: dict[str, Any], archiver_template: dict[str, Any]
) -> None:
    reserved = {
        logical_id: function["Properties"]["ReservedConcurrentExecutions"]
        for template in (aggregator_template, archiver_template)
        for logical_id, function in of_type(template, "AWS::Lambda::Function").items()
    }
    assert reserved == {
        "ValidateLambdaFunction": 10,
        "PlanLambdaFunction": 1,
        "AggregateLambdaFunction": 4,
        "WatchdogLambdaFunction": 1,
        "ArchiveLambdaFunction": 1,
    }


@pytest.mark.slow
@pytest.mark.parametrize("template_fixture", ["aggregator_template", "archiver_template"])
def test_the_deployment_bucket_is_versioned_and_logs_to_the_ingest_stacks_access_log_bucket(
    request: pytest.FixtureRequest, template_fixture: str, ingest_template: dict[str, Any]
) -> None:
    template: dict[str, Any] = request.getfixturevalue(template_fixture)
    bucket = template["Resources"]["ServerlessDeploymentBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    logging = bucket["LoggingConfiguration"]
    # By default the bucket the ingest stack names by default; the accessLogBucket param names another one
    assert logging["DestinationBucketName"] == {
        "Fn::If": ["DefaultAccessLogBucket", DEFAULT_ACCESS_LOG_BUCKET, {"Ref": "AccessLogBucket"}]
    }
    assert template["Parameters"]["AccessLogBucket"]["Default"] == ""
    ingest_name = ingest_template["Resources"]["AccessLogBucket"]["Properties"]["BucketName"]
    assert ingest_name == {
        "Fn::If": ["DefaultAccessLogBucketName", DEFAULT_ACCESS_LOG_BUCKET, {"Ref": "AccessLogBucketName"}]
    }
    service = template_fixture.removesuffix("_template")
    assert logging["LogFilePrefix"] == f"deployment/wattline-aws-{service}-dev/"


def test_the_data_bucket_logs_its_accesses_and_the_log_bucket_admits_only_this_accounts_log_delivery(
    ingest_template: dict[str, Any],
) -> None:
    resources = ingest_template["Resources"]
    assert resources["DataBucket"]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogBucket"},
        "LogFilePrefix": "data/",
    }
    log_bucket = resources["AccessLogBucket"]
    assert (log_bucket["DeletionPolicy"], log_bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = log_bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    # log delivery writes SSE-S3 only
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    (expire,) = properties["LifecycleConfiguration"]["Rules"]
    assert expire["ExpirationInDays"] == {"Ref": "AccessLogDays"}
    statements = {s["Sid"]: s for s in resources["AccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    delivery = statements["S3ServerAccessLogs"]
    assert (delivery["Effect"], delivery["Principal"], delivery["Action"]) == (
        "Allow",
        {"Service": "logging.s3.amazonaws.com"},
        "s3:PutObject",
    )
    assert delivery["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
