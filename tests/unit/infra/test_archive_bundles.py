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
    DayRestoreState,
    ObjectStoreBundles,
    RestoreState,
    StorageClass,
    StoredBundle,
    archive_day,
    archive_due,
    build_bundle,
    raw_days,
    read_bundle,
    restore_day,
    restore_status,
)
from wattline.errors import PermanentError, TransientError
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


class BatchDeletes(MemoryObjectStore):
    """A store that deletes many keys in one request (like S3 DeleteObjects); the `fail_at`-th request fails."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.fail_at = fail_at

    def delete_many(self, doomed: list[str]) -> None:
        if self.fail_at is not None and len(self.batches) + 1 == self.fail_at:
            self.fail_at = None
            raise TransientError("SlowDown")
        self.batches.append(list(doomed))
        for key in doomed:
            self.delete(key)


def test_raw_objects_are_deleted_in_batches_in_key_order() -> None:
    store = BatchDeletes()
    objects = given_an_aggregated_day(store, count=5)
    archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, delete_batch=2)
    assert store.batches == [sorted(objects)[0:2], sorted(objects)[2:4], sorted(objects)[4:]]


def test_a_failure_between_delete_batches_is_finished_by_the_next_run() -> None:
    # Given a run whose second delete batch failed
    store = BatchDeletes(fail_at=2)
    objects = given_an_aggregated_day(store, count=5)
    with pytest.raises(TransientError):
        archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, delete_batch=2)
    assert store.list_keys(keys.raw_prefix(DAY, DEVICE)) == sorted(objects)[2:]
    first = bundles_in(store)
    # When it runs again
    result = archive_day(store, ObjectStoreBundles(store), DEVICE, DAY, delete_batch=2)
    # Then the rest goes, without a second bundle, and the one bundle holds all five objects
    assert (result.deleted, result.objects) == (3, 0)
    assert bundles_in(store) == first
    assert len(read_bundle(store.get(first[0]))) == 5


def test_a_delete_batch_larger_than_s3_takes_is_refused() -> None:
    with pytest.raises(ValueError, match="delete_batch"):
        archive_day(MemoryObjectStore(), ObjectStoreBundles(MemoryObjectStore()), DEVICE, DAY, delete_batch=1001)


class SlowGlacier(ObjectStoreBundles):
    """Bundles whose restore, once requested, is in progress until `finish()`."""

    def __init__(self, store: ObjectStore) -> None:
        super().__init__(store)
        self.requested: set[str] = set()
        self.finished = False

    def request_restore(self, key: str, *, days: int, tier: str) -> RestoreState:
        self.requested.add(key)
        return self.restore_state(key) or RestoreState.ARCHIVED

    def restore_state(self, key: str) -> RestoreState | None:
        if self.finished:
            return RestoreState.AVAILABLE
        return RestoreState.IN_PROGRESS if key in self.requested else RestoreState.ARCHIVED


def test_a_day_is_marked_for_reaggregation_only_once_every_bundle_is_back() -> None:
    # Given an archived day whose bundle is in Glacier
    store = MemoryObjectStore()
    objects = given_an_aggregated_day(store)
    archive_day(store, ObjectStoreBundles(store), DEVICE, DAY)
    glacier = SlowGlacier(store)
    assert restore_status(store, glacier, DEVICE, DAY).state is DayRestoreState.ARCHIVED
    # When a restore is requested and still running
    pending = restore_day(store, glacier, DEVICE, DAY)
    # Then nothing is back, nothing is dirty, and the status says in progress
    assert (pending.pending, pending.restored_objects, pending.marked_dirty) == (1, 0, False)
    assert store.head(keys.dirty_key(DAY, DEVICE)) is None
    status = restore_status(store, glacier, DEVICE, DAY)
    assert (status.state, status.members_in_raw, status.reaggregation_pending) == (
        DayRestoreState.IN_PROGRESS,
        0,
        False,
    )
    # When Glacier finished and restore runs again
    glacier.finished = True
    assert restore_status(store, glacier, DEVICE, DAY).state is DayRestoreState.READABLE
    done = restore_day(store, glacier, DEVICE, DAY)
    # Then every object is back and the day waits for the aggregator
    assert (done.pending, done.restored_objects, done.marked_dirty) == (0, 5, True)
    assert {key: store.get(key) for key in store.list_keys(keys.raw_prefix(DAY, DEVICE))} == objects
    status = restore_status(store, glacier, DEVICE, DAY)
    assert (status.state, status.members_in_raw, status.reaggregation_pending) == (DayRestoreState.RESTORED, 5, True)


def test_the_status_of_a_day_never_archived_is_not_archived() -> None:
    store = MemoryObjectStore()
    status = restore_status(store, ObjectStoreBundles(store), DEVICE, DAY)
    assert (status.state, status.bundles) == (DayRestoreState.NOT_ARCHIVED, [])


def test_archiving_every_day_reaches_back_to_the_oldest_raw_day() -> None:
    # Given a day far older than any lookback, and a recent one
    store = MemoryObjectStore()
    given_an_aggregated_day(store, date(2025, 1, 2))
    given_an_aggregated_day(store, date(2026, 11, 27))
    assert raw_days(store) == [date(2025, 1, 2), date(2026, 11, 27)]
    # When every day older than 2 days is archived
    results = archive_due(
        store, ObjectStoreBundles(store), today=date(2026, 11, 28), min_age_days=2, lookback_days=None
    )
    # Then the old day is, the recent one is not looked at
    assert [(r.date, r.status) for r in results] == [("2025-01-02", ArchiveStatus.ARCHIVED)]


def test_restoring_an_unsafe_device_id_is_refused() -> None:
    store = MemoryObjectStore()
    with pytest.raises(PermanentError):
        restore_day(store, ObjectStoreBundles(store), "../etc", DAY)
