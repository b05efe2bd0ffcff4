"""Archiving a device's UTC day: one verified bundle, then the raw objects go; never the other way round."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from helpers.archive import put_daily_manifest

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.archive import (
    ArchiveStatus,
    BundleVerificationError,
    ObjectStoreBundles,
    StorageClass,
    StoredBundle,
    archive_day,
    archive_due,
    build_bundle,
    read_bundle,
    restore_day,
)
from wattline.ports import ObjectStore

DAY = date(2026, 11, 25)
DEVICE = "shellyem-C45BBE6C2E8F"


def raw_objects(day: date = DAY, device: str = DEVICE, count: int = 5) -> dict[str, bytes]:
    base = 1_764_028_800_000 + (day - DAY).days * 86_400_000
    return {
        keys.raw_key(day, device, base + i * 30_000, f"00000000-0000-4000-8000-{i:012d}"): (
            f'{{"topic":"shellies/{device}/emeter/0/power","received_ms":{base + i * 30_000},"payload_b64":"MTAw"}}'
        ).encode()
        for i in range(count)
    }


def given_an_aggregated_day(
    store: ObjectStore, day: date = DAY, device: str = DEVICE, count: int = 5
) -> dict[str, bytes]:
    objects = raw_objects(day, device, count)
    for key, data in objects.items():
        store.put(key, data)
    put_daily_manifest(store, day, device, count)
    return objects


def bundles_in(store: MemoryObjectStore) -> list[str]:
    return [key for key in store.objects if key.startswith("archive/") and key.endswith(".tar.gz")]


def test_an_aggregated_day_becomes_one_bundle_and_its_raw_objects_are_deleted() -> None:
    # Given a device-day with five raw objects and its daily manifest
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    # When it is archived
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    # Then one bundle under archive/dt=…/device=…/ holds them and raw/ of that day is empty
    assert result.status is ArchiveStatus.ARCHIVED
    assert result.objects == result.deleted == 5
    assert bundles_in(store) == [result.bundle_key]
    assert result.bundle_key is not None and result.bundle_key.startswith(f"archive/dt={DAY}/device={DEVICE}/raw-")
    assert not [key for key in store.objects if key in objects]


def test_the_bundle_holds_every_raw_object_byte_for_byte() -> None:
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    assert result.bundle_key is not None
    members = dict(read_bundle(store.get(result.bundle_key)))
    assert members == {key.rsplit("/", 1)[1]: data for key, data in objects.items()}


def test_archiving_the_same_day_again_changes_nothing() -> None:
    # Given an archived day
    store = MemoryObjectStore()
    given_an_aggregated_day(store)
    archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    before = dict(store.objects)
    # When the archiver runs again
    again = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    # Then it reports nothing to do and the bucket is unchanged
    assert again.status is ArchiveStatus.NOTHING_TO_ARCHIVE
    assert store.objects == before


def test_a_day_without_a_daily_manifest_is_left_in_raw() -> None:
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    store.delete(keys.daily_manifest_key(DAY, DEVICE))
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    assert result.status is ArchiveStatus.NOT_AGGREGATED
    assert all(key in store.objects for key in objects)


def test_a_day_waiting_for_re_aggregation_is_left_in_raw() -> None:
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    store.put(keys.dirty_key(DAY, DEVICE), b"late")
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    assert result.status is ArchiveStatus.DIRTY
    assert all(key in store.objects for key in objects)


def test_raw_objects_the_manifest_did_not_aggregate_keep_the_day_in_raw() -> None:
    # Given a late object that arrived after aggregation (before validate marked the day dirty)
    store = MemoryObjectStore()
    given_an_aggregated_day(store)
    store.put(keys.raw_key(DAY, DEVICE, 1_764_100_000_000, "late"), b"{}")
    # When the archiver runs
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    # Then it waits for the aggregator
    assert result.status is ArchiveStatus.MORE_RAW_THAN_AGGREGATED
    assert bundles_in(store) == []


def test_a_day_younger_than_the_minimum_age_is_left_in_raw() -> None:
    store = MemoryObjectStore()
    given_an_aggregated_day(store)
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, today=date(2026, 11, 26), min_age_days=2)
    assert result.status is ArchiveStatus.TOO_RECENT


class LyingBundles(ObjectStoreBundles):
    """A store that accepts the bundle but reports other content: a corrupted upload."""

    def stat_bundle(self, key: str) -> StoredBundle | None:
        stored = super().stat_bundle(key)
        return None if stored is None else StoredBundle(key, stored.size, "f" * 64, stored.storage_class)


def test_raw_objects_are_kept_when_the_store_does_not_confirm_the_bundle() -> None:
    # Given a store that reports a different checksum than what was written
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    # When the archiver runs, it fails for a retry
    with pytest.raises(BundleVerificationError):
        archive_day(store, LyingBundles(store), DEVICE, DAY)
    # And every raw object is still there
    assert all(key in store.objects for key in objects)


class FailingDeletes(MemoryObjectStore):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def delete(self, key: str) -> None:
        if self.failures > 0 and key.startswith("raw/"):
            self.failures -= 1
            raise OSError("connection reset")
        super().delete(key)


def test_a_run_interrupted_after_the_bundle_finishes_without_a_second_bundle() -> None:
    # Given a run that wrote and verified the bundle, then failed while deleting raw objects
    store = FailingDeletes(failures=2)
    given_an_aggregated_day(store)
    with pytest.raises(OSError):
        archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, concurrency=1)
    first = bundles_in(store)
    # When the archiver runs again
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    # Then it only deletes what the first bundle already holds
    assert result.status is ArchiveStatus.ARCHIVED
    assert result.bundle_key is None and result.objects == 0
    assert bundles_in(store) == first
    assert store.list_keys(keys.raw_prefix(DAY, DEVICE)) == []


def test_the_same_objects_always_give_the_same_bundle_bytes() -> None:
    members = [(key.rsplit("/", 1)[1], data) for key, data in raw_objects().items()]
    first = build_bundle(members)
    assert build_bundle(list(reversed(members))) == first
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(build_bundle(members)).hexdigest()


def test_a_restore_puts_the_raw_objects_back_byte_identical_on_a_filesystem_store(tmp_path: Path) -> None:
    # Given an archived day on the local filesystem stack
    store = FsObjectStore(tmp_path / "bucket")
    objects = given_an_aggregated_day(store)
    archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, storage_class=StorageClass.GLACIER)
    # When it is restored
    result = restore_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    # Then raw/ holds exactly the original objects again
    assert (result.bundles, result.pending, result.restored_objects) == (1, 0, 5)
    assert {key: store.get(key) for key in store.list_keys(keys.raw_prefix(DAY, DEVICE))} == objects


def test_the_daily_run_archives_every_device_of_the_days_old_enough() -> None:
    # Given two devices on an old day and one on yesterday
    store = MemoryObjectStore()
    given_an_aggregated_day(store, DAY, DEVICE)
    given_an_aggregated_day(store, DAY, "shellyproem50-08f9e0e67204")
    recent = given_an_aggregated_day(store, date(2026, 11, 27), DEVICE)
    # When the schedule runs on 2026-11-28 with a minimum age of 2 days
    results = archive_due(store, ObjectStoreBundles(store), today=date(2026, 11, 28), min_age_days=2, lookback_days=3)
    # Then both devices of the old day are archived and yesterday stays in raw/
    assert sorted((r.date, r.device_id, r.status) for r in results) == [
        (DAY.isoformat(), "shellyem-C45BBE6C2E8F", ArchiveStatus.ARCHIVED),
        (DAY.isoformat(), "shellyproem50-08f9e0e67204", ArchiveStatus.ARCHIVED),
    ]
    assert all(key in store.objects for key in recent)
