"""transfer.sync: the local Storage Transfer semantics (new or changed only, manifests first, idempotent)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from wattline.adapters.memory_store import MemoryObjectStore
from wattline.ports import ObjectInfo
from wattline.transfer import sync

DIR = "daily/dt=2026-11-25/device=shellyem-AABBCC/"


class RecordingStore(MemoryObjectStore):
    """A MemoryObjectStore that remembers the order of puts."""

    def __init__(self, name: str = "target") -> None:
        super().__init__(name)
        self.puts: list[str] = []

    def put(self, key, data, *, content_type="application/octet-stream", if_absent=False) -> ObjectInfo:
        self.puts.append(key)
        return super().put(key, data, content_type=content_type, if_absent=if_absent)


class MultipartEtagStore(MemoryObjectStore):
    """Reports S3 multipart-style ETags (not an MD5), as S3 does for multipart uploads."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for info in super().list(prefix):
            yield ObjectInfo(info.key, info.size, hashlib.sha1(info.key.encode()).hexdigest()[:32] + "-2")


def source_with_day() -> MemoryObjectStore:
    source = MemoryObjectStore("source")
    source.put(DIR + "readings.jsonl.gz", b"readings-v1")
    source.put(DIR + "manifest.json", b'{"v":1}')
    source.put("raw/dt=2026-11-25/device=x/1.json", b"not transferred")
    return source


def test_new_objects_are_copied_with_their_keys_and_manifest_first():
    # Given a day in the source and an empty target
    source, target = source_with_day(), RecordingStore()
    # When synced
    report = sync(source, target)
    # Then both daily files are copied under the same hive keys, the manifest before the readings, raw/ left out
    assert target.puts == [DIR + "manifest.json", DIR + "readings.jsonl.gz"]
    assert report.copied_keys == target.puts
    assert target.get(DIR + "readings.jsonl.gz") == b"readings-v1"


def test_a_second_sync_copies_nothing():
    # Given a completed sync
    source, target = source_with_day(), RecordingStore()
    sync(source, target)
    target.puts.clear()
    # When synced again
    report = sync(source, target)
    # Then nothing is copied and both are reported unchanged
    assert target.puts == [] and report.unchanged == 2


def test_only_the_changed_object_is_copied():
    # Given a synced day whose readings then change (late data)
    source, target = source_with_day(), RecordingStore()
    sync(source, target)
    target.puts.clear()
    source.put(DIR + "readings.jsonl.gz", b"readings-v2")
    # When synced
    report = sync(source, target)
    # Then only the readings file is copied
    assert report.copied_keys == [DIR + "readings.jsonl.gz"] and report.unchanged == 1


def test_same_size_different_content_is_detected_by_md5():
    # Given a target object of the same size but different bytes
    source, target = source_with_day(), RecordingStore()
    sync(source, target)
    source.put(DIR + "manifest.json", b'{"v":2}')
    # When synced, Then it is replaced
    assert sync(source, target).copied_keys == [DIR + "manifest.json"]
    assert target.get(DIR + "manifest.json") == b'{"v":2}'


def test_multipart_etags_fall_back_to_hashing_the_source_bytes():
    # Given a source whose ETags are not MD5s, and a target already identical
    source = MultipartEtagStore("s3")
    source.put(DIR + "readings.jsonl.gz", b"readings-v1")
    target = RecordingStore()
    target.put(DIR + "readings.jsonl.gz", b"readings-v1")
    target.puts.clear()
    # When synced, Then the identical object is recognised and not copied
    report = sync(source, target)
    assert report.copied == [] and report.unchanged == 1
