"""Monitoring as code on AWS: the alarms, their topic and the dashboard in the packaged service templates, and the
ingest stack's alarms on IoT rule actions and Firehose deliveries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import serverless
from infra_templates import INGEST_TEMPLATE, load_template

pytestmark = pytest.mark.slow

AGGREGATOR_FUNCTIONS = ("Validate", "Plan", "Aggregate", "Watchdog")


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {dimension["Name"]: dimension["Value"] for dimension in alarm["Dimensions"]}


def fires_on_any_one(alarm: dict[str, Any]) -> bool:
    """One event in one 5-minute period raises it, and a quiet period (no datapoint) is OK."""
    return (
        alarm["Statistic"] == "Sum"
        and (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (300, 1, 1)
        and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        and alarm["TreatMissingData"] == "notBreaching"
    )


@pytest.mark.parametrize("function", AGGREGATOR_FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_aggregator_function_alarms_on_one_error_or_throttle(
    aggregator_template: dict[str, Any], function: str, metric: str
) -> None:
    alarm = alarms(aggregator_template)[f"{function}{metric}Alarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
    assert dimensions(alarm) == {"FunctionName": {"Ref": f"{function}LambdaFunction"}}
    assert fires_on_any_one(alarm)


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_the_archiver_alarms_on_one_error_or_throttle(archiver_template: dict[str, Any], metric: str) -> None:
    alarm = alarms(archiver_template)[f"Archive{metric}Alarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
    assert dimensions(alarm) == {"FunctionName": {"Ref": "ArchiveLambdaFunction"}}
    assert fires_on_any_one(alarm)


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut"])
def test_a_failed_or_timed_out_daily_run_raises_an_alarm(aggregator_template: dict[str, Any], metric: str) -> None:
    (alarm,) = [a for a in alarms(aggregator_template).values() if a["MetricName"] == metric]
    assert alarm["Namespace"] == "AWS/States"
    assert dimensions(alarm) == {"StateMachineArn": {"Ref": "DailyAggregationStateMachine"}}
    assert fires_on_any_one(alarm)


def test_one_message_in_the_validate_dead_letter_queue_raises_an_alarm(aggregator_template: dict[str, Any]) -> None:
    alarm = alarms(aggregator_template)["ValidateDeadLetterQueueAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dimensions(alarm) == {"QueueName": {"Fn::GetAtt": ["ValidateDeadLetterQueue", "QueueName"]}}
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_thirty_minutes_without_a_raw_object_raise_the_silence_alarm(aggregator_template: dict[str, Any]) -> None:
    # Given the alarm on validate's EMF metric, with Powertools' one dimension (service)
    alarm = alarms(aggregator_template)["NoRawObjectsAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("wattline", "EnvelopesReceived")
    assert dimensions(alarm) == {"service": "aws-aggregator"}
    # Then 30 one-minute periods with less than one envelope, or with no datapoint at all, raise it
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        "Sum",
        60,
        30,
        30,
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "breaching"


def test_the_silence_alarm_metric_is_the_one_validate_emits() -> None:
    # The namespace and service dimension of the alarm are the validate handler's Powertools Metrics settings
    settings = (serverless.ROOT / "services/aws-aggregator/aws_aggregator/settings.py").read_text()
    assert 'SERVICE = "aws-aggregator"' in settings and 'METRICS_NAMESPACE = "wattline"' in settings
    validate = (serverless.ROOT / "services/aws-aggregator/aws_aggregator/validate.py").read_text()
    assert 'metrics.add_metric(name="EnvelopesReceived"' in validate


@pytest.mark.parametrize("template_fixture", ["aggregator_template", "archiver_template"])
def test_every_alarm_notifies_the_stack_alarm_topic_on_alarm_and_on_recovery(
    request: pytest.FixtureRequest, template_fixture: str
) -> None:
    template: dict[str, Any] = request.getfixturevalue(template_fixture)
    assert alarms(template)
    for logical_id, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


@pytest.mark.parametrize("template_fixture", ["aggregator_template", "archiver_template"])
def test_the_email_subscription_exists_only_when_alarm_email_is_given(
    request: pytest.FixtureRequest, template_fixture: str
) -> None:
    template: dict[str, Any] = request.getfixturevalue(template_fixture)
    # Given no alarmEmail param: the stack parameter defaults to empty
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_the_alarm_email_param_becomes_the_default_of_the_stack_parameter(node_tools: Path, tmp_path: Path) -> None:
    path = serverless.package(node_tools, "aws-archiver", tmp_path, "alarmEmail=ops@example.org")
    assert serverless.load(path)["Parameters"]["AlarmEmail"]["Default"] == "ops@example.org"


def dashboard(template: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    properties = template["Resources"]["Dashboard"]["Properties"]
    return properties, json.loads(properties["DashboardBody"]["Fn::Sub"])


def test_one_dashboard_graphs_every_function_the_daily_run_the_dlq_and_the_envelopes(
    aggregator_template: dict[str, Any],
) -> None:
    properties, body = dashboard(aggregator_template)
    assert properties["DashboardName"] == "wattline-dev"
    metrics = {tuple(line) for widget in body["widgets"] for line in widget["properties"].get("metrics", [])}
    functions = [f"wattline-aws-aggregator-dev-{name.lower()}" for name in AGGREGATOR_FUNCTIONS]
    functions.append("wattline-aws-archiver-dev-archive")
    for function in functions:
        assert ("AWS/Lambda", "Errors", "FunctionName", function) in metrics
        assert ("AWS/Lambda", "Throttles", "FunctionName", function) in metrics
    machine = (
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:wattline-aws-aggregator-dev-daily"
    )
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
        assert ("AWS/States", metric, "StateMachineArn", machine) in metrics
    queue = aggregator_template["Resources"]["ValidateDeadLetterQueue"]["Properties"]["QueueName"]
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue) in metrics
    assert ("wattline", "EnvelopesReceived", "service", "aws-aggregator") in metrics


def test_the_dashboard_shows_the_state_of_every_alarm_of_both_services(
    aggregator_template: dict[str, Any], archiver_template: dict[str, Any]
) -> None:
    _properties, body = dashboard(aggregator_template)
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    shown = {re.sub(r"^.*:alarm:", "", arn) for arn in widget["properties"]["alarms"]}
    names = {a["AlarmName"] for t in (aggregator_template, archiver_template) for a in alarms(t).values()}
    assert shown == names


# --- the ingest stack: IoT rule actions and Firehose deliveries -------------------------------------------------


@pytest.fixture(scope="module")
def ingest_template() -> dict[str, Any]:
    return load_template(INGEST_TEMPLATE)


def topic_rule_ids(template: dict[str, Any]) -> set[str]:
    return {logical_id for logical_id, r in template["Resources"].items() if r["Type"] == "AWS::IoT::TopicRule"}


def fires_on_any_one_in_5_minutes(alarm: dict[str, Any]) -> bool:
    return (alarm["EvaluationPeriods"], alarm["Threshold"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
        1,
        1,
        "GreaterThanOrEqualToThreshold",
        "notBreaching",
    )


def test_one_failed_rule_action_raises_an_alarm(ingest_template: dict[str, Any]) -> None:
    # Given the alarm on AWS IoT's rule action metric Failure (dimensions RuleName and ActionType)
    alarm = alarms(ingest_template)["IotRuleActionFailuresAlarm"]
    (query,) = alarm["Metrics"]
    # Then a Metrics Insights query sums it over every rule and action type of the account, in 5-minute periods
    assert query["Expression"] == 'SELECT SUM(Failure) FROM SCHEMA("AWS/IoT", ActionType, RuleName)'
    assert (query["Period"], query["ReturnData"]) == (300, True)
    # ... and one failure raises it, a quiet period is OK
    assert fires_on_any_one_in_5_minutes(alarm)


def test_one_throttled_message_of_any_of_the_six_rules_raises_an_alarm(ingest_template: dict[str, Any]) -> None:
    # Given the alarm on AWS IoT's RuleMessageThrottled (dimension RuleName)
    alarm = alarms(ingest_template)["IotRuleMessagesThrottledAlarm"]
    (total,) = [metric for metric in alarm["Metrics"] if metric["ReturnData"]]
    stats = [metric["MetricStat"] for metric in alarm["Metrics"] if not metric["ReturnData"]]
    # Then it is the sum of the metric of exactly the stack's six topic rules, in 5-minute periods
    assert total["Expression"] == "SUM(METRICS())"
    assert {(stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) for stat in stats} == {
        ("AWS/IoT", "RuleMessageThrottled")
    }
    assert {(stat["Period"], stat["Stat"]) for stat in stats} == {(300, "Sum")}
    rules = [dimensions(stat["Metric"]) for stat in stats]
    assert sorted(rule["RuleName"]["Ref"] for rule in rules) == sorted(topic_rule_ids(ingest_template))
    assert len(rules) == 6 and all(set(rule) == {"RuleName"} for rule in rules)
    # ... and one throttled message raises it, a quiet period is OK
    assert fires_on_any_one_in_5_minutes(alarm)


def test_a_failed_firehose_delivery_raises_an_alarm_in_firehose_mode(ingest_template: dict[str, Any]) -> None:
    resource = ingest_template["Resources"]["FirehoseDeliveryFailuresAlarm"]
    alarm = resource["Properties"]
    # Only with the stream (IngestMode=firehose)
    assert resource["Condition"] == "UseFirehose"
    # DeliveryToS3.Success is the share of successful S3 puts: any failed one makes the 5-minute minimum < 1;
    # without data to deliver there is no datapoint, and that is OK
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Firehose", "DeliveryToS3.Success")
    assert dimensions(alarm) == {"DeliveryStreamName": {"Ref": "RawDeliveryStream"}}
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Minimum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_ingest_alarm_notifies_its_alarm_topic_with_an_optional_email(ingest_template: dict[str, Any]) -> None:
    assert set(alarms(ingest_template)) == {
        "IotRuleActionFailuresAlarm",
        "IotRuleMessagesThrottledAlarm",
        "FirehoseDeliveryFailuresAlarm",
    }
    for logical_id, alarm in alarms(ingest_template).items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], logical_id
    assert ingest_template["Parameters"]["AlarmEmail"]["Default"] == ""
    subscription = ingest_template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert ingest_template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
