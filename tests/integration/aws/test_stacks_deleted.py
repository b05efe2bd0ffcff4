"""Deleting the AWS stacks on moto server: `serverless remove` takes away everything a service created, and the
ingest stack's deletion keeps the data and access-log buckets (DeletionPolicy Retain). Each test deploys into an
account of its own (tests/integration/aws/stack_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.parsers import ResponseParserError
from stack_helpers import (
    Account,
    create_ingest_stack,
    delete_ingest_stack,
    deploy_service,
    fresh_account,
    inventory,
    package_service,
    remove_service,
)

pytestmark = [pytest.mark.servers, pytest.mark.slow]

RAW_KEY = "raw/dt=2026-11-27/device=shellyem-C45BBE6C2E8F/1764237600000-0f8fad5b-d9cb-469f-a165-70867728950e.json"


@pytest.fixture
def account(moto_endpoint: str) -> Account:
    return fresh_account(moto_endpoint)


def test_removing_the_services_leaves_what_the_ingest_stack_created_and_the_data(
    account: Account, node_tools: Path, tmp_path: Path
) -> None:
    # Given the ingest stack with one raw object in its bucket, and what exists in the account with it alone
    ingest = create_ingest_stack(account, "wattline-ingest", {"IngestMode": "direct"})
    bucket = ingest.outputs["BucketName"]
    account.client("s3").put_object(Bucket=bucket, Key=RAW_KEY, Body=b"{}")
    ingest_only = inventory(account)
    # ... and both services deployed on it
    stacks = [
        deploy_service(account, package_service(node_tools, service, bucket, tmp_path / service))
        for service in ("aws-aggregator", "aws-archiver")
    ]
    assert inventory(account)["functions"]
    # When both are removed
    removed = [remove_service(account, stack) for stack in stacks]
    # Then both stacks are deleted, and the account holds exactly what the ingest stack created, data included
    assert removed == ["DELETE_COMPLETE", "DELETE_COMPLETE"]
    assert inventory(account) == ingest_only
    assert account.client("s3").get_object(Bucket=bucket, Key=RAW_KEY)["Body"].read() == b"{}"


def test_deleting_the_ingest_stack_keeps_the_data_and_access_log_buckets_and_their_objects(account: Account) -> None:
    # Given the ingest stack with one raw object in its bucket
    ingest = create_ingest_stack(account, "wattline-ingest", {"IngestMode": "direct"})
    bucket = ingest.outputs["BucketName"]
    account.client("s3").put_object(Bucket=bucket, Key=RAW_KEY, Body=b"{}")
    # When the stack is deleted
    delete_ingest_stack(account, ingest)
    # Then its role is gone, but both buckets (data and access logs: DeletionPolicy Retain) and the object are there
    assert inventory(account)["roles"] == []
    assert inventory(account)["buckets"] == sorted([bucket, ingest.outputs["AccessLogBucketName"]])
    assert account.client("s3").get_object(Bucket=bucket, Key=RAW_KEY)["Body"].read() == b"{}"


@pytest.mark.xfail(
    strict=True,
    raises=ResponseParserError,
    reason="moto 5.2 deletes an AWS::IoT::Policy by its unresolved PolicyName (a Ref) and fails",
)
def test_deleting_the_ingest_stack_removes_the_device_policy(account: Account) -> None:
    ingest = create_ingest_stack(account, "wattline-ingest", {"IngestMode": "direct"})
    account.client("cloudformation").delete_stack(StackName=ingest.id)
    assert inventory(account)["iot policies"] == []
