"""transfer.sync from a local bucket (the S3 side) into fake-gcs-server: the Storage Transfer job's semantics."""

from __future__ import annotations

import uuid

import pytest
from gcp_flows import DAYS, LATE_DAY, history, late_version, write_history

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.transfer import sync

pytestmark = pytest.mark.servers
DEVICE = "shellyproem50-08f9e0e67204"


@pytest.fixture
def source(tmp_path):
    store = FsObjectStore(tmp_path / "s3-bucket")
    write_history(store, history())
    store.put("raw/dt=2026-11-25/device=x/1-a.json", b"{}")
    return store


def test_the_first_sync_copies_every_daily_object_with_its_hive_key(source, fake_gcs):
    target = fake_gcs.store(f"gcs-{uuid.uuid4().hex[:8]}")
    report = sync(source, target)
    assert [info.key for info in target.list("")] == [info.key for info in source.list("daily/")]
    assert len(report.copied) == 2 * len(DAYS) and all(info.generation for info in report.copied)


def test_a_second_sync_after_a_late_day_copies_only_that_days_changed_files_manifest_first(source, fake_gcs):
    # Given a synced target, then day 3 re-aggregated with late data at the source
    target = fake_gcs.store(f"gcs-{uuid.uuid4().hex[:8]}")
    sync(source, target)
    write_history(source, {LATE_DAY: late_version(history())})
    # When synced again
    report = sync(source, target)
    # Then exactly that day's manifest then readings are copied, the rest is unchanged
    assert report.copied_keys == [keys.daily_manifest_key(LATE_DAY, DEVICE), keys.daily_readings_key(LATE_DAY, DEVICE)]
    assert report.unchanged == 2 * len(DAYS) - 2
    assert target.get(keys.daily_readings_key(LATE_DAY, DEVICE)) == source.get(
        keys.daily_readings_key(LATE_DAY, DEVICE)
    )


def test_a_sync_from_s3_on_moto_compares_by_etag_and_copies_only_what_changed(moto_endpoint, fake_gcs):
    # Given the days in an S3 bucket (moto) and an empty GCS bucket
    import boto3

    from wattline.adapters.s3_store import S3ObjectStore

    client = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="eu-central-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    name = f"s3-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    s3 = S3ObjectStore(name, endpoint_url=moto_endpoint, region="eu-central-1", client=client)
    days = history()
    write_history(s3, days)
    target = fake_gcs.store(f"gcs-{uuid.uuid4().hex[:8]}")
    # When synced twice, with a late-data day rewritten in S3 in between
    first = sync(s3, target)
    write_history(s3, {LATE_DAY: late_version(days)})
    second = sync(s3, target)
    # Then S3's ETags matched GCS's MD5s: the second run copied only the rewritten day, manifest first
    assert len(first.copied) == 2 * len(DAYS)
    assert second.copied_keys == [keys.daily_manifest_key(LATE_DAY, DEVICE), keys.daily_readings_key(LATE_DAY, DEVICE)]
