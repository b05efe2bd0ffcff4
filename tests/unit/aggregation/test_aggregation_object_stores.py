"""The filesystem and in-memory ObjectStores behave like S3 (the S3 store is checked against moto in integration)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from wattline.adapters.fs_store import FsObjectStore
from wattline.errors import NotFoundError, PreconditionFailedError
from wattline.ports import ObjectStore


def test_an_object_reads_back_the_bytes_written(store: ObjectStore) -> None:
    # Given / When
    info = store.put("raw/dt=2026-11-26/device=a/1.json", b'{"x":1}')
    # Then
    assert store.get("raw/dt=2026-11-26/device=a/1.json") == b'{"x":1}'
    assert info.etag == hashlib.md5(b'{"x":1}').hexdigest()
    assert info.size == 7


def test_reading_a_missing_key_raises_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("raw/nothing.json")


def test_head_of_a_missing_key_is_none(store: ObjectStore) -> None:
    assert store.head("raw/nothing.json") is None


def test_a_create_only_write_to_an_existing_key_fails_and_keeps_the_first_bytes(store: ObjectStore) -> None:
    # Given
    store.put("state/lock", b"first", if_absent=True)
    # When / Then
    with pytest.raises(PreconditionFailedError):
        store.put("state/lock", b"second", if_absent=True)
    assert store.get("state/lock") == b"first"


def test_an_ordinary_write_replaces_the_object(store: ObjectStore) -> None:
    store.put("daily/x", b"old")
    store.put("daily/x", b"new")
    assert store.get("daily/x") == b"new"


def test_list_is_recursive_sorted_and_limited_to_the_prefix(store: ObjectStore) -> None:
    # Given
    for key in ("raw/dt=2026-11-26/device=b/2.json", "raw/dt=2026-11-26/device=a/1.json", "daily/z", "raw/x"):
        store.put(key, b"1")
    # When
    listed = [info.key for info in store.list("raw/dt=")]
    # Then
    assert listed == ["raw/dt=2026-11-26/device=a/1.json", "raw/dt=2026-11-26/device=b/2.json"]


def test_deleting_a_missing_key_is_not_an_error(store: ObjectStore) -> None:
    store.put("state/dirty/x", b"1")
    store.delete("state/dirty/x")
    store.delete("state/dirty/x")
    assert store.head("state/dirty/x") is None


def test_the_directory_store_refuses_keys_that_would_escape_the_bucket(tmp_path: Path) -> None:
    store = FsObjectStore(tmp_path / "bucket")
    for key in ("../outside", "raw/../../outside", "/etc/passwd", "raw//x", ""):
        with pytest.raises(ValueError):
            store.put(key, b"1")


def test_the_directory_store_never_lists_its_temporary_files(tmp_path: Path) -> None:
    # Given a crashed writer left a temporary file behind
    store = FsObjectStore(tmp_path / "bucket")
    store.put("raw/a.json", b"1")
    (tmp_path / "bucket" / "raw" / ".tmp-crashed").write_bytes(b"partial")
    # When / Then
    assert [info.key for info in store.list("raw/")] == ["raw/a.json"]


def test_the_directory_store_lists_next_level_prefixes_like_s3_common_prefixes(tmp_path: Path) -> None:
    store = FsObjectStore(tmp_path / "bucket")
    store.put("raw/dt=2026-11-26/device=b/1.json", b"1")
    store.put("raw/dt=2026-11-26/device=a/1.json", b"1")
    assert store.list_prefixes("raw/dt=2026-11-26/") == [
        "raw/dt=2026-11-26/device=a/",
        "raw/dt=2026-11-26/device=b/",
    ]
