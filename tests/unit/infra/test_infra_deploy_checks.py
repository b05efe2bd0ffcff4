"""Offline deployment checks: the ASL is valid, the templates lint clean, the schedule and triggers are wired."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.serverless import ROOT
from infra_templates import INGEST_TEMPLATE, OFFLINE_BUCKET, STATE_MACHINE, load_template

pytestmark = pytest.mark.slow

CHECKOV = ROOT / "infra" / "aws" / "checkov.sh"
CREATE_TEMPLATE = "cloudformation-template-create-stack.json"
# Every checkov check skipped, by template and resource (docs/aws.md, "Security scan" lists them with reasons).
FUNCTION_SKIPS = {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"}
SKIPS = {
    "ingest": {"AccessLogBucket": {"CKV_AWS_18"}},
    "aws-aggregator": {
        f"{name}LambdaFunction": FUNCTION_SKIPS for name in ("Validate", "Plan", "Aggregate", "Watchdog")
    },
    "aws-archiver": {"ArchiveLambdaFunction": FUNCTION_SKIPS},
}


def asl() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(STATE_MACHINE.read_text())
    return loaded


def test_the_state_machine_definition_is_valid_asl(node_tools: Path) -> None:
    # Given the state machine definition in the repository
    # When asl-validator checks it (schema, JSONPath syntax, Resource ARNs)
    done = subprocess.run(
        [str(node_tools / "asl-validator"), "--json-path", str(STATE_MACHINE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then it is valid
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_map_state_runs_aggregate_for_each_planned_item_with_configurable_concurrency() -> None:
    states = asl()["States"]
    assert asl()["StartAt"] == "Plan"
    assert states["Plan"]["Parameters"]["FunctionName"] == "${PlanFunctionArn}"
    mapped = states["AggregateEach"]
    assert mapped["Type"] == "Map"
    assert mapped["ItemsPath"] == "$.plan.items"
    assert mapped["MaxConcurrencyPath"] == "$.max_concurrency"
    aggregate = mapped["ItemProcessor"]["States"]["Aggregate"]
    assert aggregate["Parameters"] == {"FunctionName": "${AggregateFunctionArn}", "Payload.$": "$"}


def test_transient_errors_are_retried_and_everything_else_is_caught_into_a_failure_state() -> None:
    states = asl()["States"]
    for task in (states["Plan"], states["AggregateEach"]["ItemProcessor"]["States"]["Aggregate"]):
        retried = {error for retry in task["Retry"] for error in retry["ErrorEquals"]}
        assert {"TransientError", "Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= retried
        assert "States.ALL" not in retried
        assert [catch["ErrorEquals"] for catch in task["Catch"]] == [["States.ALL"]]
    assert states["Plan"]["Catch"][0]["Next"] == "PlanFailed"
    assert states["PlanFailed"]["Type"] == "Fail"
    # one failed item does not stop the others, but fails the execution at the end
    assert states["AnyFailed"]["Choices"][0]["Next"] == "AggregationFailed"
    assert states["AggregationFailed"]["Type"] == "Fail"


def test_the_definition_substitutions_cover_every_placeholder(aggregator_template: dict[str, Any]) -> None:
    machine = aggregator_template["Resources"]["DailyAggregationStateMachine"]["Properties"]
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(machine["Definition"])))
    assert placeholders == set(machine["DefinitionSubstitutions"]) == {"PlanFunctionArn", "AggregateFunctionArn"}


def test_the_daily_schedule_starts_after_the_grace_period_that_plan_uses(aggregator_template: dict[str, Any]) -> None:
    resources = aggregator_template["Resources"]
    schedule = resources["DailySchedule"]["Properties"]
    environment = resources["PlanLambdaFunction"]["Properties"]["Environment"]["Variables"]
    # Given the default grace of 1 hour
    assert environment["WATTLINE_GRACE_HOURS"] == "1"
    # Then the run starts at 01:05 UTC, hands the scheduled time to plan as `now`, and caps the Map concurrency
    assert schedule["ScheduleExpression"] == "cron(5 1 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert json.loads(schedule["Target"]["Input"]) == {
        "source": "schedule",
        "now": "<aws.scheduler.scheduled-time>",
        "max_concurrency": 4,
    }


def test_near_real_time_alerts_are_off_by_default_with_the_watchdog_schedule_disabled(
    aggregator_template: dict[str, Any],
) -> None:
    resources = aggregator_template["Resources"]
    schedule = resources["WatchdogEventsRuleSchedule1"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["State"] == "DISABLED"
    for function in ("ValidateLambdaFunction", "WatchdogLambdaFunction"):
        environment = resources[function]["Properties"]["Environment"]["Variables"]
        assert environment["WATTLINE_REALTIME_ALERTS"] == "false"
    assert resources["WatchdogLambdaFunction"]["Properties"]["Handler"] == "aws_aggregator.watchdog.handler"


def test_the_realtime_alerts_param_turns_on_the_watchdog_schedule_and_both_functions(
    realtime_aggregator_template: dict[str, Any],
) -> None:
    # Given the aggregator packaged with realtimeAlerts=true, a project and a WIF config
    resources = realtime_aggregator_template["Resources"]
    # Then the schedule is enabled and targets the watchdog, which a failed run does not retry (the next run does)
    schedule = resources["WatchdogEventsRuleSchedule1"]["Properties"]
    assert schedule["State"] == "ENABLED"
    assert schedule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["WatchdogLambdaFunction", "Arn"]}
    assert resources["WatchdogLambdaEvConf"]["Properties"]["MaximumRetryAttempts"] == 0
    # ... and validate and the watchdog both get the settings of the near-real-time path
    for function in ("ValidateLambdaFunction", "WatchdogLambdaFunction"):
        environment = resources[function]["Properties"]["Environment"]["Variables"]
        assert environment["WATTLINE_REALTIME_ALERTS"] == "true"
        assert environment["WATTLINE_GCP_PROJECT"] == "wattline-prod"
        assert environment["WATTLINE_ALERTS_TOPIC"] == "alerts"
        assert json.loads(environment["WATTLINE_GCP_WIF_CONFIG"]) == {"type": "external_account"}


def test_validate_gets_each_raw_object_created_event_of_the_bucket_unchanged(
    aggregator_template: dict[str, Any],
) -> None:
    # Given the EventBridge rule that triggers validate
    resources = aggregator_template["Resources"]
    (rule_id,) = [
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
    ]
    rule = resources[rule_id]["Properties"]
    # Then it matches S3's Object Created events of the data bucket under raw/ only (so validate's own writes to
    # quarantine/ and state/dirty/ never trigger it), and is on
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [OFFLINE_BUCKET]}, "object": {"key": [{"prefix": "raw/"}]}},
    }
    assert rule["State"] == "ENABLED" and "EventBusName" not in rule  # the default bus, where S3 sends its events
    # ... its one target is validate, with no input transformer, input or input path: Lambda gets the event as S3
    # sent it, the S3EventNotificationEventBridgeModel the handler parses (moto's S3 events ignore those settings,
    # so the integration test relies on this)
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ValidateLambdaFunction", "Arn"]}
    assert set(target) == {"Arn", "Id"}
    # ... and EventBridge may invoke the function for this rule only
    permission = resources["ValidateEventBridgeLambdaPermission1"]["Properties"]
    assert (permission["Principal"], permission["Action"]) == ("events.amazonaws.com", "lambda:InvokeFunction")
    assert rule["Name"] in json.dumps(permission["SourceArn"])
    assert resources["ValidateLambdaFunction"]["Properties"]["Handler"] == "aws_aggregator.validate.handler"


def test_every_template_passes_cfn_lint(packaged: dict[str, Path]) -> None:
    # Given the ingest stack and the templates serverless generated (each service's update and create template)
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    generated = [path for update in packaged.values() for path in (update, update.with_name(CREATE_TEMPLATE))]
    # When cfn-lint checks them (W3005: serverless itself adds DependsOn next to the role GetAtt)
    done = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(INGEST_TEMPLATE), *map(str, generated)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then there are no errors and no warnings
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="session")
def checkov_installed() -> Path:
    """infra/aws/checkov.sh with the pinned checkov installed in its own venv (.tools/checkov; PyPI the first time).
    An install that fails skips the scan with the reason, except in CI, where it fails."""
    done = subprocess.run(["bash", str(CHECKOV), "--install"], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        message = f"checkov could not be installed (offline?): {done.stderr[-800:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHECKOV


# The first use installs checkov (PyPI) and packages both services: more than the default 300 s may pass.
@pytest.mark.timeout(900)
def test_every_template_passes_the_checkov_security_scan(checkov_installed: Path, packaged: dict[str, Path]) -> None:
    # Given the ingest stack (scanned in direct and in firehose mode) and the templates serverless generated
    # When checkov scans them with every check
    done = subprocess.run(
        ["bash", str(checkov_installed), str(INGEST_TEMPLATE), *map(str, packaged.values())],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # Then no check fails; what is skipped is skipped beside its resource (the next test)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = re.search(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", done.stdout)
    assert counts, done.stdout
    passed, failed, skipped = map(int, counts.groups())
    assert failed == 0 and passed > 0
    # ... and the skips are exactly the listed ones (the ingest stack's counts twice: direct and firehose)
    assert skipped == sum(len(ids) for skips in SKIPS.values() for ids in skips.values()) + len(SKIPS["ingest"])


@pytest.mark.timeout(900)
def test_a_failing_check_fails_the_scan(checkov_installed: Path, tmp_path: Path) -> None:
    # Given a template with a bucket that is neither versioned, encrypted nor logged
    template = tmp_path / "bad.yml"
    template.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Open:\n    Type: AWS::S3::Bucket\n")
    # When checkov scans it, Then the scan fails and names the check
    done = subprocess.run(
        ["bash", str(checkov_installed), str(template)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode != 0
    assert "CKV_AWS_18" in done.stdout


def checkov_skips(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """resource → {check id → reason} of the `Metadata: checkov: skip` entries."""
    return {
        logical_id: {skip["id"]: skip.get("comment", "") for skip in resource["Metadata"]["checkov"]["skip"]}
        for logical_id, resource in template["Resources"].items()
        if "checkov" in resource.get("Metadata", {})
    }


def test_each_skipped_check_is_skipped_beside_its_resource_with_a_reason(packaged: dict[str, Path]) -> None:
    # Given the skips in the ingest stack and in the packaged templates
    templates = {"ingest": load_template(INGEST_TEMPLATE)} | {
        service: load_template(path) for service, path in packaged.items()
    }
    for name, template in templates.items():
        skips = checkov_skips(template)
        # Then they are exactly the documented ones
        assert {resource: set(ids) for resource, ids in skips.items()} == SKIPS[name], name
        # ... each with a one-line reason
        for resource, reasons in skips.items():
            for check, reason in reasons.items():
                assert len(reason) > 20 and "\n" not in reason, f"{name} {resource} {check}: {reason!r}"
