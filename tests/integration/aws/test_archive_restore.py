"""`wattline archive` / `wattline restore` on a real S3 API (moto server): GLACIER bundles, a restore that is still
in progress, storage failures between the bundle upload and the deletes and between delete batches, and the round
trip archive → restore → re-aggregate giving byte-identical daily files."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from helpers.raw import gen1_power
from helpers.s3_faults import S3FaultProxy, batch_delete_fault, put_fault
from typer.testing import CliRunner, Result

from wattline import keys
from wattline.adapters.s3_bundles import S3BundleStore
from wattline.adapters.s3_store import S3ObjectStore
from wattline.aggregation import aggregate_day, plan_days
from wattline.archive import (
    BundleNotReadableError,
    archive_day,
    build_bundle,
    bundle_key,
    index_key_for,
    sha256_hex,
)
from wattline.cli.main import app
from wattline.errors import TransientError

pytestmark = pytest.mark.servers

REGION = "eu-central-1"
DAY = date(2026, 11, 20)
DEVICES = ("shellyem-C45BBE6C2E8F", "shellyem-A4CF12F454A3")
NOW = "2026-11-27T03:00:00+00:00"  # a week later: the day is older than the archiver's 2 days


@pytest.fixture
def store(moto_endpoint: str) -> S3ObjectStore:
    """A fresh versioned data bucket (as the ingest stack makes it): a second upload would show as a version."""
    import boto3

    name = f"wattline-archive-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return S3ObjectStore(name, endpoint_url=moto_endpoint, region=REGION)


@pytest.fixture
def glacier_restores(moto_endpoint: str) -> Iterator[Any]:
    """Control over moto's restore progression (its state manager, model `s3::keyrestore`): `start()` lets the next
    restore request begin, `hold()` keeps running restores in progress, `finish()` completes them. Reset after."""

    def transition(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{moto_endpoint}/moto-api/state-manager/{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    class Restores:
        def start(self) -> None:
            transition(
                "set-transition", {"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": 1}}
            )

        def hold(self) -> None:
            transition(
                "set-transition",
                {"model_name": "s3::keyrestore", "transition": {"progression": "manual", "times": 10**9}},
            )

        def finish(self) -> None:
            transition("set-transition", {"model_name": "s3::keyrestore", "transition": {"progression": "immediate"}})

    yield Restores()
    transition("unset-transition", {"model_name": "s3::keyrestore"})


def given_aggregated_days(store: S3ObjectStore) -> dict[str, bytes]:
    """Two meters' real Gen1 messages of one UTC day (every 30 min), aggregated by the aggregator's own code;
    returns the raw objects."""
    start = datetime.combine(DAY, datetime.min.time(), UTC)
    for device in DEVICES:
        gen1_power(store, device, start + timedelta(minutes=1), start + timedelta(hours=23, minutes=55), 1800)
        aggregate_day(store, DAY, device)
    return {info.key: store.get(info.key) for info in store.list(keys.RAW_PREFIX)}


def daily_files(store: S3ObjectStore) -> dict[str, bytes]:
    return {info.key: store.get(info.key) for info in store.list(keys.DAILY_PREFIX)}


def wattline(store: S3ObjectStore, endpoint: str, *args: str) -> Result:
    return CliRunner().invoke(
        app, [*args, "--bucket", store.name, "--endpoint-url", endpoint, "--region", REGION, "--format", "json"]
    )


def restore_args(*extra: str) -> list[str]:
    devices = [arg for device in DEVICES for arg in ("--device", device)]
    return ["restore", *devices, "--from", DAY.isoformat(), "--to", DAY.isoformat(), *extra]


def bundle_versions(store: S3ObjectStore) -> list[str]:
    response = store.client.list_object_versions(Bucket=store.name, Prefix="archive/")
    return sorted(version["Key"] for version in response.get("Versions", []) if version["Key"].endswith(".tar.gz"))


def test_archive_restore_and_reaggregation_give_byte_identical_daily_files(
    store: S3ObjectStore, moto_endpoint: str
) -> None:
    # Given two aggregated device-days on S3
    raw = given_aggregated_days(store)
    daily = daily_files(store)
    # When `wattline archive` runs on the bucket a week later
    archived = wattline(store, moto_endpoint, "archive", "--now", NOW)
    # Then each device-day is one GLACIER bundle and raw/ is empty
    assert archived.exit_code == 0, archived.output
    body = json.loads(archived.stdout)
    assert (body["archived"], body["deleted"], body["storage_class"]) == (2, len(raw), "GLACIER")
    assert store.list_keys(keys.RAW_PREFIX) == []
    for result in body["results"]:
        assert store.client.head_object(Bucket=store.name, Key=result["bundle_key"])["StorageClass"] == "GLACIER"

    # When `wattline restore` runs (moto completes a Glacier restore at once by default)
    restored = wattline(store, moto_endpoint, *restore_args())
    # Then every raw object is back byte for byte and both days wait for re-aggregation
    assert restored.exit_code == 0, restored.output
    body = json.loads(restored.stdout)
    assert (body["pending"], body["restored_objects"], body["marked_dirty"]) == (0, len(raw), 2)
    assert {info.key: store.get(info.key) for info in store.list(keys.RAW_PREFIX)} == raw
    assert all(store.head(keys.dirty_key(DAY, device)) is not None for device in DEVICES)

    # When the aggregator's plan runs after the day closed, and aggregates what it plans
    items = plan_days(store, datetime.fromisoformat(NOW), grace=timedelta(hours=2), lookback_days=1)
    assert {(item.date, item.device_id) for item in items} == {(DAY, device) for device in DEVICES}
    for item in items:
        aggregate_day(store, item.date, item.device_id)
    # Then the daily files and manifests are byte-identical, and nothing is dirty any more
    assert daily_files(store) == daily
    assert store.list_keys(keys.DIRTY_PREFIX) == []
    # ... and archiving again writes no second bundle
    again = wattline(store, moto_endpoint, "archive", "--now", NOW)
    assert again.exit_code == 0, again.output
    assert len(bundle_versions(store)) == 2


def test_a_restore_in_progress_is_reported_and_a_later_run_completes_it(
    store: S3ObjectStore, moto_endpoint: str, glacier_restores: Any
) -> None:
    # Given an archived day whose Glacier restore, once requested, stays in progress
    raw = given_aggregated_days(store)
    assert wattline(store, moto_endpoint, "archive", "--now", NOW).exit_code == 0
    glacier_restores.start()
    # When `wattline restore` runs
    first = wattline(store, moto_endpoint, *restore_args())
    glacier_restores.hold()
    # Then it requested the restores and exits 3 (run again later), with nothing back yet and nothing marked
    assert first.exit_code == 3, first.output
    body = json.loads(first.stdout)
    assert (body["pending"], body["restored_objects"], body["marked_dirty"]) == (2, 0, 0)
    assert store.list_keys(keys.RAW_PREFIX) == []
    assert store.list_keys(keys.DIRTY_PREFIX) == []
    # ... S3 refuses to read the bundles
    (bundle, *_) = [key for key in store.list_keys("archive/") if key.endswith(".tar.gz")]
    with pytest.raises(BundleNotReadableError):
        S3BundleStore(store.client, store.name).get_bundle(bundle)
    # ... and `restore --status` says what is in progress, changing nothing
    status = wattline(store, moto_endpoint, *restore_args("--status"))
    assert status.exit_code == 0, status.output
    days = json.loads(status.stdout)["days"]
    assert [(day["state"], day["members_in_raw"]) for day in days] == [("in_progress", 0)] * 2
    assert {bundle["state"] for day in days for bundle in day["bundles"]} == {"in_progress"}
    # ... and running restore again while Glacier works changes nothing either
    assert wattline(store, moto_endpoint, *restore_args()).exit_code == 3
    assert store.list_keys(keys.RAW_PREFIX) == []

    # When Glacier finished and the same command runs again
    glacier_restores.finish()
    done = wattline(store, moto_endpoint, *restore_args())
    # Then everything is back byte for byte and marked for re-aggregation
    assert done.exit_code == 0, done.output
    assert {info.key: store.get(info.key) for info in store.list(keys.RAW_PREFIX)} == raw
    status = json.loads(wattline(store, moto_endpoint, *restore_args("--status")).stdout)["days"]
    assert [(day["state"], day["reaggregation_pending"]) for day in status] == [("restored", True)] * 2


def test_a_failed_index_write_after_the_bundle_upload_loses_and_duplicates_nothing(
    store: S3ObjectStore, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an aggregated day, and S3 failing every write of its bundle's index (the step after the upload)
    raw = given_aggregated_days(store)
    device = DEVICES[0]
    members = [(key.rsplit("/", 1)[1], data) for key, data in raw.items() if f"device={device}/" in key]
    index = index_key_for(bundle_key(DAY, device, sha256_hex(build_bundle(members))))
    monkeypatch.setenv("WATTLINE_MAX_ATTEMPTS", "1")
    with S3FaultProxy(moto_endpoint) as proxy:
        fault = proxy.add(put_fault(store.name, quote(index, safe="/~"), 500, "InternalError"))
        # When `wattline archive` runs through it
        failed = wattline(store, proxy.url, "archive", "--now", NOW)
    # Then it fails as "re-run", the bundle is uploaded but no raw object of that day is gone
    assert fault.hits >= 1
    assert failed.exit_code == 1, failed.output
    assert "run `wattline archive` again" in failed.output
    assert all(key in store.list_keys(keys.RAW_PREFIX) for key in raw if f"device={device}/" in key)
    # When it runs again without the fault
    again = wattline(store, moto_endpoint, "archive", "--now", NOW)
    # Then both days are archived, raw/ is empty, each bundle was uploaded exactly once
    assert again.exit_code == 0, again.output
    assert store.list_keys(keys.RAW_PREFIX) == []
    versions = bundle_versions(store)
    assert len(versions) == len(set(versions)) == 2
    # ... and a restore gives back every object
    assert wattline(store, moto_endpoint, *restore_args()).exit_code == 0
    assert {info.key: store.get(info.key) for info in store.list(keys.RAW_PREFIX)} == raw


@pytest.mark.parametrize("passing_batches", [0, 1], ids=["before-the-first-delete", "between-delete-batches"])
def test_a_failed_delete_batch_loses_and_duplicates_nothing_and_a_rerun_completes(
    store: S3ObjectStore, moto_endpoint: str, passing_batches: int
) -> None:
    # Given an aggregated day of 48 raw objects, deleted 20 at a time after the bundle is verified
    raw = given_aggregated_days(store)
    device = DEVICES[0]
    mine = {key: data for key, data in raw.items() if f"device={device}/" in key}
    with S3FaultProxy(moto_endpoint) as proxy:
        # ... and S3 failing every DeleteObjects request after the first `passing_batches`
        fault = proxy.add(batch_delete_fault(store.name, 500, "InternalError", after=passing_batches))
        faulty = S3ObjectStore(store.name, endpoint_url=proxy.url, region=REGION, max_attempts=1)
        # When the archive stage runs through it
        with pytest.raises(TransientError):
            archive_day(faulty, S3BundleStore(faulty.client, store.name), device, DAY, delete_batch=20)
    # Then exactly the batches before the failure are gone, and the bundle with its index is there
    assert fault.hits >= 1  # botocore retried it once (max_attempts counts retries)
    left = set(store.list_keys(keys.raw_prefix(DAY, device)))
    assert left == set(sorted(mine)[passing_batches * 20 :])
    assert [key for key in store.list_keys("archive/") if key.endswith(".index.json")]
    # When it runs again
    result = archive_day(store, S3BundleStore(store.client, store.name), device, DAY, delete_batch=20)
    # Then the rest is deleted, no second bundle is written, and the one bundle holds every object
    assert result.deleted == len(left) and result.objects == 0
    assert store.list_keys(keys.raw_prefix(DAY, device)) == []
    assert len(bundle_versions(store)) == 1
    restored = wattline(store, moto_endpoint, "restore", "--device", device, "--from", DAY.isoformat())
    assert restored.exit_code == 0, restored.output
    assert {key: store.get(key) for key in store.list_keys(keys.raw_prefix(DAY, device))} == mine
