"""What every ObjectStore adapter shares: the etag of some bytes, an ObjectInfo made from them, `list` by `head`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Protocol

from wattline.errors import NotFoundError
from wattline.ports import ObjectInfo


def md5_hex(data: bytes) -> str:
    """The etag of `data`: its md5 in hex, like a single-part S3 upload. The same bytes object asked twice in a row
    is hashed once (the local runtime's notifying store asks for the etag of a write, then its store does)."""
    last = _last_md5
    if last[0] is data:
        return last[1]
    digest = hashlib.md5(data).hexdigest()
    if data.__class__ is bytes:  # (immutable: the same object is the same content)
        _remember(data, digest)
    return digest


_last_md5: tuple[bytes, str] = (b"", hashlib.md5(b"").hexdigest())


def _remember(data: bytes, digest: str) -> None:
    global _last_md5
    _last_md5 = (data, digest)


def info_of(key: str, data: bytes) -> ObjectInfo:
    """The ObjectInfo of `data` stored under `key` (for stores that compute the etag themselves)."""
    return ObjectInfo(key=key, size=len(data), etag=md5_hex(data))


class _Heads(Protocol):
    def head(self, key: str) -> ObjectInfo | None: ...


def infos_by_head(store: _Heads, keys: Iterable[str]) -> Iterator[ObjectInfo]:
    """The ObjectInfo of each key in order, read lazily by `head`; keys deleted meanwhile are skipped."""
    for key in keys:
        info = store.head(key)
        if info is not None:
            yield info


def raise_unless_not_found(error: Exception, cause: Exception) -> None:
    """For `head`/`delete`: a translated NotFoundError means "missing" (return); any other error is raised."""
    if not isinstance(error, NotFoundError):
        raise error from cause
