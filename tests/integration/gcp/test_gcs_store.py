"""GcsObjectStore against a real fake-gcs-server: the ObjectStore contract and the error translation."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from wattline.adapters.gcs_store import GcsObjectStore
from wattline.errors import NotFoundError, PreconditionFailedError, TransientError

pytestmark = pytest.mark.servers


@pytest.fixture
def store(fake_gcs):
    return fake_gcs.store(f"bucket-{uuid.uuid4().hex[:10]}")


def test_a_put_object_reads_back_with_its_md5_and_generation(store):
    # Given bytes written to a key
    info = store.put("daily/dt=2026-11-27/device=x/readings.jsonl.gz", b"hello", content_type="application/gzip")
    # When read and described
    data, head = store.get(info.key), store.head(info.key)
    # Then the bytes, size, hex md5 (like an S3 ETag) and generation match
    assert data == b"hello"
    assert head == info and head.size == 5 and head.etag == hashlib.md5(b"hello").hexdigest()
    assert head.generation is not None and int(head.generation) > 0


def test_a_replaced_object_gets_a_newer_generation(store):
    # Given an object written twice
    first = store.put("k", b"one")
    second = store.put("k", b"two")
    # Then the second generation is newer
    assert int(second.generation) > int(first.generation)


def test_a_create_only_write_to_an_existing_key_loses_the_race(store):
    # Given an existing object
    store.put("k", b"one")
    # When written with if_absent, Then PreconditionFailedError (ifGenerationMatch=0) and the object is unchanged
    with pytest.raises(PreconditionFailedError):
        store.put("k", b"two", if_absent=True)
    assert store.get("k") == b"one"


def test_a_missing_key_raises_not_found_and_heads_as_none(store):
    with pytest.raises(NotFoundError):
        store.get("missing")
    assert store.head("missing") is None


def test_listing_returns_only_the_prefix_sorted_by_key(store):
    # Given objects under two prefixes
    for key in ["daily/b", "daily/a/x", "raw/c", "daily/a/y"]:
        store.put(key, key.encode())
    # When listed under daily/, Then only those, sorted
    assert [info.key for info in store.list("daily/")] == ["daily/a/x", "daily/a/y", "daily/b"]


def test_deleting_twice_is_not_an_error(store):
    store.put("k", b"x")
    store.delete("k")
    store.delete("k")
    assert store.head("k") is None


def test_an_unreachable_server_is_a_transient_error():
    # Given a store pointing at a closed port, with a short retry budget
    store = GcsObjectStore("b", project="p", endpoint="http://127.0.0.1:9", retry_deadline_s=0.5, timeout_s=0.5)
    # When read, Then the failure is transient (the platform retries)
    with pytest.raises(TransientError):
        store.get("k")
