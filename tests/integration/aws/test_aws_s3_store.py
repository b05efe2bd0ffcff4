"""S3ObjectStore against moto server: the ObjectStore contract and the SDK-error translation."""

from __future__ import annotations

import hashlib
import socket
from datetime import date

import pytest
from aws_helpers import DataBucket

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore
from wattline.errors import NotFoundError, PermanentError, PreconditionFailedError, TransientError

pytestmark = pytest.mark.servers

REGION = "eu-central-1"


@pytest.fixture
def store(data_bucket: DataBucket) -> S3ObjectStore:
    return S3ObjectStore(data_bucket.name, endpoint_url=data_bucket.endpoint, region=REGION, page_size=2)


def test_an_object_reads_back_with_an_md5_etag(store: S3ObjectStore) -> None:
    info = store.put("daily/dt=2026-11-26/device=a/manifest.json", b"{}", content_type="application/json")
    assert store.get("daily/dt=2026-11-26/device=a/manifest.json") == b"{}"
    assert info.etag == hashlib.md5(b"{}").hexdigest()
    head = store.head("daily/dt=2026-11-26/device=a/manifest.json")
    assert head is not None and (head.size, head.etag) == (2, info.etag)


def test_a_missing_key_raises_not_found_and_heads_as_none(store: S3ObjectStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("raw/missing.json")
    assert store.head("raw/missing.json") is None


def test_a_create_only_write_uses_if_none_match_and_loses_the_race_cleanly(store: S3ObjectStore) -> None:
    store.put("state/lock", b"first", if_absent=True)
    with pytest.raises(PreconditionFailedError):
        store.put("state/lock", b"second", if_absent=True)
    assert store.get("state/lock") == b"first"


def test_list_pages_through_every_object_under_the_prefix_in_key_order(store: S3ObjectStore) -> None:
    # Given more objects than one page (page size 2)
    keys = [f"raw/dt=2026-11-26/device=d{i % 2}/{i:03d}.json" for i in range(7)]
    for key in reversed(keys):
        store.put(key, b"1")
    store.put("daily/other", b"1")
    # When / Then
    assert [info.key for info in store.list("raw/")] == sorted(keys)
    assert store.list_prefixes("raw/dt=2026-11-26/") == ["raw/dt=2026-11-26/device=d0/", "raw/dt=2026-11-26/device=d1/"]


def test_keys_after_a_start_key_come_from_start_after_listings_page_by_page(store: S3ObjectStore) -> None:
    # Given raw objects named by receive time (page size 2)
    day = date(2026, 11, 26)
    names = [keys.raw_key(day, "d0", 1_764_115_200_000 + i * 1000, f"u{i}") for i in range(7)]
    for key in names:
        store.put(key, b"1")
    # When listing those received at or after the fourth one's time
    start_after = keys.raw_start_after(day, "d0", 1_764_115_203_000)
    # Then exactly the newer keys come back in order, and `limit` stops after that many
    assert store.list_keys_after(keys.raw_prefix(day, "d0"), start_after) == names[3:]
    assert store.list_keys_after(keys.raw_prefix(day, "d0"), start_after, limit=3) == names[3:6]
    assert store.list_keys_after(keys.raw_prefix(day, "d0"), names[-1]) == []


def test_deleting_a_missing_key_is_not_an_error(store: S3ObjectStore) -> None:
    store.delete("state/dirty/none")


def test_a_missing_bucket_is_a_permanent_error(data_bucket: DataBucket) -> None:
    store = S3ObjectStore("wattline-no-such-bucket", endpoint_url=data_bucket.endpoint, region=REGION)
    with pytest.raises(PermanentError):
        store.put("raw/x", b"1")


def test_an_unreachable_endpoint_is_a_transient_error(aws_environment: None) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    store = S3ObjectStore("any-bucket", endpoint_url=f"http://127.0.0.1:{closed_port}", region=REGION, max_attempts=1)
    with pytest.raises(TransientError) as raised:
        store.get("raw/x")
    assert raised.value.__cause__ is not None
