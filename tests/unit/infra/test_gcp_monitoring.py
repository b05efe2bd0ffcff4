"""infra/gcp/monitoring.sh --dry-run: the exact gcloud commands it would run (metric filters, channel, policies).

A `gcloud` that records its calls and fails sits first on PATH, so a dry run that called anything would show."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.gcp_scripts import commands_of, option
from helpers.serverless import ROOT

SCRIPTS = ROOT / "infra" / "gcp"
ENV = {"PROJECT": "wattline-demo", "MONITORING_EMAIL": "ops@example.org"}


def dry_run(tmp_path: Path, script: str, **env: str) -> list[list[str]]:
    """Run `bash infra/gcp/<script> --dry-run`; the printed commands, each split into its arguments."""
    return commands_of(tmp_path, f"infra/gcp/{script}", **env)


@pytest.fixture
def commands(tmp_path: Path) -> list[list[str]]:
    return dry_run(tmp_path, "monitoring.sh", **ENV)


def log_metrics(commands: list[list[str]]) -> dict[str, str]:
    """Log-based metric name → its filter, from the `gcloud logging metrics create` commands."""
    return {
        command[4]: option(command, "--log-filter")
        for command in commands
        if command[:4] == ["gcloud", "logging", "metrics", "create"]
    }


def policies(commands: list[list[str]]) -> dict[str, dict[str, Any]]:
    created = [c for c in commands if c[:5] == ["gcloud", "alpha", "monitoring", "policies", "create"]]
    loaded = [json.loads(option(command, "--policy")) for command in created]
    return {policy["displayName"]: policy for policy in loaded}


def test_every_command_runs_in_the_project(commands: list[list[str]]) -> None:
    assert commands
    assert all(command[0] == "gcloud" and option(command, "--project") == "wattline-demo" for command in commands)


def test_function_errors_count_error_entries_of_every_wattline_function(commands: list[list[str]]) -> None:
    assert log_metrics(commands)["wattline_function_errors"] == (
        'resource.type="cloud_run_revision" AND resource.labels.service_name=("wattline-loader" OR '
        '"wattline-alerts-detect" OR "wattline-alerts-email" OR "wattline-alerts-slack") AND severity>=ERROR'
    )


def test_transfer_failures_count_the_failed_actions_of_the_transfer_job(commands: list[list[str]]) -> None:
    # Storage Transfer logs FAILED actions (transfer-job.json's loggingConfig) at severity ERROR
    assert log_metrics(commands)["wattline_transfer_failures"] == (
        'resource.type="storage_transfer_job" AND resource.labels.job_id="transferJobs/wattline-daily-s3-to-gcs" '
        "AND severity>=ERROR"
    )


def test_rows_merged_counts_the_loader_entries_of_loaded_files(commands: list[list[str]]) -> None:
    # main.py logs `LoadResult.detail` ("N rows merged") with status "loaded" for every merged daily file
    assert log_metrics(commands)["wattline_loader_rows_merged"] == (
        'resource.type="cloud_run_revision" AND resource.labels.service_name="wattline-loader" '
        'AND jsonPayload.status="loaded"'
    )


def test_one_email_channel_is_created_for_the_monitoring_address(commands: list[list[str]]) -> None:
    (channel,) = [c for c in commands if c[:5] == ["gcloud", "beta", "monitoring", "channels", "create"]]
    assert option(channel, "--type") == "email"
    assert option(channel, "--channel-labels") == "email_address=ops@example.org"


def test_every_policy_notifies_the_channel_and_has_one_condition(commands: list[list[str]]) -> None:
    created = policies(commands)
    assert set(created) == {
        "wattline: function errors",
        "wattline: transfer job failures",
        "wattline: alerts dead-letter backlog",
        "wattline: loader freshness",
    }
    for policy in created.values():
        assert policy["notificationChannels"] == ["projects/wattline-demo/notificationChannels/CHANNEL_ID"]
        assert len(policy["conditions"]) == 1 and policy["enabled"] is True


@pytest.mark.parametrize(
    ("name", "metric", "resource"),
    [
        ("wattline: function errors", "wattline_function_errors", "cloud_run_revision"),
        ("wattline: transfer job failures", "wattline_transfer_failures", "storage_transfer_job"),
    ],
)
def test_one_logged_failure_in_five_minutes_opens_an_incident(
    commands: list[list[str]], name: str, metric: str, resource: str
) -> None:
    (condition,) = policies(commands)[name]["conditions"]
    threshold = condition["conditionThreshold"]
    assert threshold["filter"] == (f'resource.type="{resource}" AND metric.type="logging.googleapis.com/user/{metric}"')
    (aggregation,) = threshold["aggregations"]
    assert (aggregation["alignmentPeriod"], aggregation["perSeriesAligner"]) == ("300s", "ALIGN_SUM")
    assert (threshold["comparison"], threshold["thresholdValue"], threshold["duration"]) == ("COMPARISON_GT", 0, "0s")


def test_one_message_in_the_dead_letter_subscription_opens_an_incident(commands: list[list[str]]) -> None:
    (condition,) = policies(commands)["wattline: alerts dead-letter backlog"]["conditions"]
    threshold = condition["conditionThreshold"]
    assert threshold["filter"] == (
        'resource.type="pubsub_subscription" AND resource.labels.subscription_id="alerts-dead-letter-store" '
        'AND metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"'
    )
    assert (threshold["comparison"], threshold["thresholdValue"]) == ("COMPARISON_GT", 0)


def test_a_loader_silent_for_26_hours_opens_an_incident(commands: list[list[str]]) -> None:
    # metric-absence conditions stop at 23.5 h, shorter than the loader's daily rhythm: a PromQL absence instead
    (condition,) = policies(commands)["wattline: loader freshness"]["conditions"]
    assert condition["conditionPrometheusQueryLanguage"]["query"] == (
        'absent_over_time(logging_googleapis_com:user_wattline_loader_rows_merged{monitored_resource="cloud_run_revision"}[26h])'
    )


def test_the_freshness_window_and_the_functions_come_from_the_environment(tmp_path: Path) -> None:
    # Given a 50-hour window and only the e-mail alert function deployed
    env = {**ENV, "LOADER_FRESHNESS": "50h", "ALERT_FUNCTIONS": "wattline-alerts-email"}
    commands = dry_run(tmp_path, "monitoring.sh", **env)
    # Then the freshness query and the error filter follow them
    (condition,) = policies(commands)["wattline: loader freshness"]["conditions"]
    assert condition["conditionPrometheusQueryLanguage"]["query"].endswith("[50h])")
    errors = log_metrics(commands)["wattline_function_errors"]
    assert 'service_name=("wattline-loader" OR "wattline-alerts-email")' in errors


def test_without_a_monitoring_email_the_script_stops_before_any_command(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(SCRIPTS / "monitoring.sh"), "--dry-run"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PROJECT": "wattline-demo"},
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == "" and "MONITORING_EMAIL" in done.stderr


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("apis.sh", [["gcloud", "services", "enable"]]),
        ("bucket.sh", [["gcloud", "storage", "buckets", "create"], ["gcloud", "storage", "buckets", "update"]]),
        ("pubsub.sh", [["gcloud", "pubsub", "topics", "create"]]),
    ],
)
def test_the_other_gcp_scripts_print_their_commands_on_a_dry_run(
    tmp_path: Path, script: str, expected: list[list[str]]
) -> None:
    commands = dry_run(tmp_path, script, PROJECT="wattline-demo")
    assert [command[: len(prefix)] for command, prefix in zip(commands, expected, strict=True)] == expected
    assert all(option(command, "--project") == "wattline-demo" for command in commands if "--project" in command)


def test_the_monitoring_api_is_enabled(tmp_path: Path) -> None:
    (command,) = dry_run(tmp_path, "apis.sh", PROJECT="wattline-demo")
    assert {"monitoring.googleapis.com", "logging.googleapis.com"} <= set(command)
