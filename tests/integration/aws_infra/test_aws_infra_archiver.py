"""The archiver on a real S3 API (moto server): GLACIER bundles, verified before raw objects go, restorable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from helpers.archive import put_daily_manifest
from typer.testing import CliRunner

from wattline import keys
from wattline.adapters.s3_bundles import S3BundleStore
from wattline.adapters.s3_store import S3ObjectStore
from wattline.archive import BundleNotReadableError
from wattline.cli.main import app

pytestmark = pytest.mark.servers

DAY = date(2026, 11, 20)
DEVICE = "shellyem-C45BBE6C2E8F"


@dataclass
class Context:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "wattline-aws-archiver-test-archive"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:eu-central-1:123456789012:function:wattline-aws-archiver-test-archive"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    import boto3

    name = f"wattline-archive-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="eu-central-1")
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def store(bucket: str, moto_endpoint: str) -> S3ObjectStore:
    return S3ObjectStore(bucket, endpoint_url=moto_endpoint, region="eu-central-1")


@pytest.fixture
def archiver(bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The deployed handler, configured through its environment like on Lambda."""
    from aws_archiver import settings
    from aws_archiver.handler import handler

    monkeypatch.setenv("WATTLINE_BUCKET", bucket)
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", moto_endpoint)
    settings.get_settings.cache_clear()
    settings.get_stores.cache_clear()
    yield handler
    settings.get_settings.cache_clear()
    settings.get_stores.cache_clear()


def given_an_aggregated_day(store: S3ObjectStore, count: int = 4) -> dict[str, bytes]:
    objects = {
        keys.raw_key(DAY, DEVICE, 1_763_596_800_000 + i * 30_000, str(uuid.UUID(int=i))): (
            b'{"topic":"shellies/%s/emeter/0/power","received_ms":%d,"payload_b64":"MTAw"}'
            % (DEVICE.encode(), 1_763_596_800_000 + i * 30_000)
        )
        for i in range(count)
    }
    for key, data in objects.items():
        store.put(key, data, content_type="application/json")
    put_daily_manifest(store, DAY, DEVICE, count)
    return objects


def test_the_daily_run_writes_one_glacier_bundle_and_removes_the_raw_objects(
    store: S3ObjectStore, archiver: Any
) -> None:
    # Given an aggregated device-day older than the minimum age
    given_an_aggregated_day(store)
    # When the schedule invokes the archiver a week later
    response = archiver({"source": "schedule", "now": "2026-11-27T03:00:00Z"}, Context())
    # Then the day is one bundle in GLACIER and raw/ of that day is empty
    (result,) = [r for r in response["results"] if r["status"] == "archived"]
    head = store.client.head_object(Bucket=store.name, Key=result["bundle_key"])
    assert head["StorageClass"] == "GLACIER"
    assert result["deleted"] == 4
    assert store.list_keys(keys.raw_prefix(DAY, DEVICE)) == []


def test_an_archived_bundle_cannot_be_read_until_it_is_restored(store: S3ObjectStore, archiver: Any) -> None:
    # Given an archived day
    given_an_aggregated_day(store)
    result = archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())["results"][0]
    bundles = S3BundleStore(store.client, store.name)
    # Then reading the bundle fails as "not readable yet" (S3 InvalidObjectState), a transient condition
    with pytest.raises(BundleNotReadableError):
        bundles.get_bundle(result["bundle_key"])


def test_restore_day_puts_the_raw_objects_back_byte_identical(
    store: S3ObjectStore, archiver: Any, moto_endpoint: str
) -> None:
    # Given an archived day
    objects = given_an_aggregated_day(store)
    archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())
    # When `wattline aws restore-day` runs (moto completes the Glacier restore at once)
    result = CliRunner().invoke(
        app,
        ["aws", "restore-day", DEVICE, DAY.isoformat(), "--bucket", store.name, "--endpoint-url", moto_endpoint],
    )
    # Then raw/ holds the original objects again
    assert result.exit_code == 0, result.output
    assert "4 raw object(s) back under raw/" in result.output
    assert {key: store.get(key) for key in store.list_keys(keys.raw_prefix(DAY, DEVICE))} == objects


def test_running_the_archiver_twice_writes_nothing_the_second_time(store: S3ObjectStore, archiver: Any) -> None:
    given_an_aggregated_day(store)
    archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())
    before = sorted(store.list_keys("archive/"))
    again = archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())
    assert again["results"][0]["status"] == "nothing_to_archive"
    assert sorted(store.list_keys("archive/")) == before


def test_deep_archive_is_a_setting(store: S3ObjectStore, archiver: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_archiver import settings

    monkeypatch.setenv("WATTLINE_ARCHIVE_STORAGE_CLASS", "DEEP_ARCHIVE")
    settings.get_settings.cache_clear()
    given_an_aggregated_day(store)
    result = archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())["results"][0]
    head = store.client.head_object(Bucket=store.name, Key=result["bundle_key"])
    assert head["StorageClass"] == "DEEP_ARCHIVE"


def test_the_index_beside_the_bundle_stays_readable_in_standard(store: S3ObjectStore, archiver: Any) -> None:
    given_an_aggregated_day(store)
    result = archiver({"device_id": DEVICE, "date": DAY.isoformat()}, Context())["results"][0]
    index_key = result["bundle_key"].removesuffix(".tar.gz") + ".index.json"
    head = store.client.head_object(Bucket=store.name, Key=index_key)
    assert head.get("StorageClass", "STANDARD") == "STANDARD"
    assert b'"members"' in store.get(index_key)
