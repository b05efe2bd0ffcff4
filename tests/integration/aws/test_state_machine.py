"""The daily aggregation state machine, executed: the packaged template's definition on moto's Step Functions
interpreter, its Lambda tasks running the real plan and aggregate handlers over moto S3.

From the template `serverless package` generates (tests/conftest.py) come the definition with its
DefinitionSubstitutions applied, the functions it names (handler, environment), and the execution input: the
DailySchedule's target Input, filled in as EventBridge Scheduler fills it, at the schedule's own fire time. Nothing
here writes a Step Functions input or a state's output. The Lambda invocations run in-process
(tests/helpers/step_functions.py explains why and how). S3 is the shared moto server behind a proxy that can answer
chosen requests with S3 errors (tests/helpers/s3_faults.py). What moto's interpreter does and does not do is listed
in docs/aws.md, section 2.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from helpers.raw import gen1_power, gen2_power
from helpers.s3_faults import S3FaultProxy, listing_fault
from helpers.serverless import with_bucket
from helpers.step_functions import (
    InProcessLambdaRuntime,
    ScheduledStateMachine,
    deploy_scheduled_state_machine,
    moto_step_functions,
)

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore
from wattline.models import DailyManifest

pytestmark = pytest.mark.servers

REGION = "eu-central-1"
DAY = date(2026, 11, 20)
GEN1_A = "shellyem3-68C63AFAF952"
GEN1_B = "shellyem-D3B45C"
GEN2 = "shelly3em63g3-48f6eead1a8c"


@dataclass
class DailyRun:
    """The deployed daily run and what it works on."""

    machine: ScheduledStateMachine
    runtime: InProcessLambdaRuntime
    store: S3ObjectStore  # the data bucket, straight on moto (no faults)
    s3: S3FaultProxy  # what the functions reach S3 through

    @property
    def aggregate(self) -> str:
        return self.machine.function_names["AggregateLambdaFunction"]

    @property
    def plan(self) -> str:
        return self.machine.function_names["PlanLambdaFunction"]


@pytest.fixture
def daily_run(s3_client: Any, moto_endpoint: str, aggregator_template: dict[str, Any]) -> Iterator[DailyRun]:
    """The packaged aggregator's scheduled state machine on an in-process moto, its functions configured for a
    fresh data bucket (as `--param=bucket=<it>` would) and reaching S3 through the fault proxy. The S3 client retries
    a failed request once (WATTLINE_MAX_ATTEMPTS=1, the least the setting allows: botocore's `max_attempts` counts
    retries), so an S3 error that outlasts two attempts reaches the state machine's Retry. The handlers' cached
    settings and stores are reset around (a cold start per test)."""
    from aws_aggregator import settings

    bucket = f"wattline-data-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    store = S3ObjectStore(bucket, endpoint_url=moto_endpoint, region=REGION)
    runtime = InProcessLambdaRuntime()
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
    with S3FaultProxy(moto_endpoint) as proxy, moto_step_functions(runtime) as endpoint:
        machine = deploy_scheduled_state_machine(
            endpoint,
            with_bucket(aggregator_template, bucket),
            "DailySchedule",
            environment={"WATTLINE_S3_ENDPOINT_URL": proxy.url, "WATTLINE_MAX_ATTEMPTS": "1"},
        )
        yield DailyRun(machine, runtime, store, proxy)
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()


def a_day_of(store: S3ObjectStore, device: str, day: date = DAY) -> int:
    """Raw objects of `device` across `day` (one every two hours, as the direct IoT rule writes them); how many."""
    start = datetime.combine(day, time(0, 30), tzinfo=UTC)
    end = start + timedelta(hours=22)
    write = gen2_power if device == GEN2 else gen1_power
    return len(write(store, device, start, end, every_s=7200))


def aggregated(store: S3ObjectStore, device: str, objects: int) -> dict[str, Any]:
    """The result aggregate reports for a clean full day of `objects` single-reading objects of `device`, its hash
    read from the daily file written (which must match the manifest)."""
    manifest = DailyManifest.model_validate_json(store.get(keys.daily_manifest_key(DAY, device)))
    sha256 = hashlib.sha256(store.get(keys.daily_readings_key(DAY, device))).hexdigest()
    assert manifest.sha256 == sha256
    return {
        "device_id": device,
        "date": DAY.isoformat(),
        "mode": "full",
        "envelopes": objects,
        "kept": objects,
        "duplicates": 0,
        "quarantined": 0,
        "reasons": {},
        "readings": objects,
        "source_objects": objects,
        "sha256": sha256,
        "dirty_cleared": False,
    }


def attempts(run: DailyRun) -> dict[str, list[str | None]]:
    """Per device, the outcome of each aggregate invocation in order: None (succeeded) or the errorType."""
    found: dict[str, list[str | None]] = {}
    for invocation in run.runtime.called(run.aggregate):
        found.setdefault(invocation.event["device_id"], []).append(invocation.error_type)
    return found


def test_the_scheduled_run_aggregates_every_device_of_the_closed_day_through_the_map(daily_run: DailyRun) -> None:
    # Given a closed day of three meters, and a fourth meter publishing only on the next (still open) day
    objects = {device: a_day_of(daily_run.store, device) for device in (GEN1_A, GEN1_B, GEN2)}
    a_day_of(daily_run.store, "shellyem-0A1B2C", DAY + timedelta(days=1))

    # When the schedule fires after that day
    execution = daily_run.machine.run_for(DAY)

    # Then plan lists the closed day's meters, the Map aggregates each once, and the execution succeeds with
    # exactly this output: the scheduler's input, the plan, one result per item in plan order, and the check
    assert execution.status == "SUCCEEDED", execution.description
    devices = sorted(objects)
    assert execution.output == {
        "source": "schedule",
        "now": "2026-11-21T01:05:00Z",
        "max_concurrency": 4,
        "plan": {"items": [{"device_id": device, "date": "2026-11-20"} for device in devices]},
        "results": [
            {"failed": False, "result": aggregated(daily_run.store, device, objects[device])} for device in devices
        ],
        "check": {"any_failed": False},
    }
    assert [invocation.event for invocation in daily_run.runtime.called(daily_run.plan)] == [execution.input]
    aggregate_events = [invocation.event for invocation in daily_run.runtime.called(daily_run.aggregate)]
    assert sorted(aggregate_events, key=lambda item: item["device_id"]) == execution.output["plan"]["items"]
    assert execution.task_errors() == []


def test_a_transient_storage_error_in_aggregate_is_retried_and_the_day_succeeds(daily_run: DailyRun) -> None:
    # Given two meters, and S3 answering 503 SlowDown to both attempts (botocore's retry included) of the first
    # listing of the Gen2 meter's raw partition
    objects = {device: a_day_of(daily_run.store, device) for device in (GEN1_A, GEN2)}
    fault = daily_run.s3.add(listing_fault(daily_run.store.name, keys.raw_prefix(DAY, GEN2), 503, "SlowDown", 2))

    # When the schedule fires after that day
    execution = daily_run.machine.run_for(DAY)

    # Then that meter's first aggregate attempt failed with TransientError, the Retry ran it again, and it succeeded
    assert fault.hits == 2
    assert execution.task_errors() == ["TransientError"]
    assert attempts(daily_run) == {GEN2: ["TransientError", None], GEN1_A: [None]}
    [failed_attempt] = [event for event in execution.events if event["type"] == "TaskFailed"]
    cause = json.loads(failed_attempt["taskFailedEventDetails"]["cause"])
    assert cause["errorType"] == "TransientError" and "SlowDown, HTTP 503" in cause["errorMessage"]
    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["results"] == [
        {"failed": False, "result": aggregated(daily_run.store, device, objects[device])} for device in sorted(objects)
    ]


def test_a_permanent_failure_is_caught_and_recorded_while_the_other_devices_are_aggregated(
    daily_run: DailyRun,
) -> None:
    # Given three meters, and S3 refusing (403 AccessDenied) every listing of one meter's raw partition
    objects = {device: a_day_of(daily_run.store, device) for device in (GEN1_A, GEN1_B, GEN2)}
    fault = daily_run.s3.add(listing_fault(daily_run.store.name, keys.raw_prefix(DAY, GEN1_B), 403, "AccessDenied"))

    # When the schedule fires after that day
    execution = daily_run.machine.run_for(DAY)

    # Then that meter's aggregate failed once with PermanentError, which no Retry matches
    assert fault.hits == 1
    assert execution.task_errors() == ["PermanentError"]
    assert attempts(daily_run) == {GEN1_A: [None], GEN1_B: ["PermanentError"], GEN2: [None]}
    # And the Catch recorded it in the Map's results (in plan order), beside the other meters' results
    [mapped] = execution.state_outputs("AggregateEach")
    results = dict(zip([item["device_id"] for item in mapped["plan"]["items"]], mapped["results"], strict=True))
    failure = results.pop(GEN1_B)
    assert failure == {
        "failed": True,
        "device_id": GEN1_B,
        "date": "2026-11-20",
        "error": {"Error": "PermanentError", "Cause": failure["error"]["Cause"]},
    }
    cause = json.loads(failure["error"]["Cause"])
    assert cause["errorType"] == "PermanentError"
    assert cause["errorMessage"] == (
        f"list s3://{daily_run.store.name}/{keys.raw_prefix(DAY, GEN1_B)}: S3 refused the request "
        "(AccessDenied, HTTP 403)"
    )
    # And the other meters were aggregated
    assert results == {
        device: {"failed": False, "result": aggregated(daily_run.store, device, objects[device])}
        for device in (GEN1_A, GEN2)
    }
    assert daily_run.store.head(keys.daily_manifest_key(DAY, GEN1_B)) is None
    # And the execution ends failed, so the failure shows in the console and the metrics
    assert execution.state_outputs("CountFailures") == [{**mapped, "check": {"any_failed": True}}]
    assert (execution.status, execution.description["error"]) == ("FAILED", "AggregationFailed")


def test_a_run_with_nothing_to_aggregate_succeeds_without_the_map(daily_run: DailyRun) -> None:
    # Given a bucket whose only raw data is on a day that is not closed yet
    a_day_of(daily_run.store, GEN1_A, DAY + timedelta(days=1))

    # When the schedule fires after the day before
    execution = daily_run.machine.run_for(DAY)

    # Then plan finds nothing and the execution ends at NothingToDo
    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output == {
        "source": "schedule",
        "now": "2026-11-21T01:05:00Z",
        "max_concurrency": 4,
        "plan": {"items": []},
    }
    assert daily_run.runtime.called(daily_run.aggregate) == []
    assert [event["type"] for event in execution.events][-2:] == ["SucceedStateExited", "ExecutionSucceeded"]


def test_a_plan_that_fails_permanently_ends_the_execution_in_plan_failed(daily_run: DailyRun) -> None:
    # Given a closed day of one meter, and S3 refusing the listing of that day's device prefixes
    a_day_of(daily_run.store, GEN1_A)
    daily_run.s3.add(
        listing_fault(daily_run.store.name, f"{keys.RAW_PREFIX}dt={DAY.isoformat()}/", 403, "AccessDenied")
    )

    # When the schedule fires after that day
    execution = daily_run.machine.run_for(DAY)

    # Then plan failed once (no retry of a permanent error) and the Catch ended the execution in PlanFailed
    assert execution.task_errors() == ["PermanentError"]
    assert daily_run.runtime.called(daily_run.aggregate) == []
    assert (execution.status, execution.description["error"]) == ("FAILED", "PlanFailed")
