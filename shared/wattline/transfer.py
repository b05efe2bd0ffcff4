"""S3 → GCS transfer, local edition: the semantics of the Storage Transfer Service job in infra/gcp/.

`sync(source, target, prefix="daily/")` copies every object under the prefix that is new in the target or
differs from it, keeping keys (so the hive layout `daily/dt=…/device=…/` is kept), and skips identical ones —
like the cloud job's `overwriteWhen: DIFFERENT`. Pure domain: it only speaks the ObjectStore port.

- Same object = same size and same MD5. The port's `etag` is the hex MD5 on GCS and the local stores, and on
  S3 for single-part uploads; an S3 multipart ETag (`…-N`) is not an MD5, so then the source bytes are read
  and hashed before deciding (daily files are small; the aggregator writes them in one PUT).
- Never partial: every copy is one whole-object PUT (atomic on S3, GCS and the filesystem store).
- Order: inside each `device=…` folder `manifest.json` is copied BEFORE `readings.jsonl.gz`. The GCS loader
  fires on the readings' finalize and verifies the file against the manifest, so the manifest must already be
  there. (The cloud job gives no ordering; the loader then retries until the manifest arrives — docs/gcp.md.)
- Idempotent: a second run with nothing changed copies nothing. Returns what it copied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from wattline.errors import NotFoundError
from wattline.keys import DAILY_PREFIX, MANIFEST_FILE
from wattline.ports import ObjectInfo, ObjectStore

_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class SyncReport:
    """What one sync run did: the copied objects (as written in the target), and how many were identical."""

    copied: list[ObjectInfo] = field(default_factory=list)
    unchanged: int = 0
    vanished: int = 0  # listed in the source, deleted before it could be read

    @property
    def copied_keys(self) -> list[str]:
        return [info.key for info in self.copied]


def _content_type(key: str) -> str:
    if key.endswith(".json"):
        return "application/json"
    if key.endswith(".gz"):
        return "application/gzip"
    return "application/octet-stream"


def _copy_order(info: ObjectInfo) -> tuple[str, int, str]:
    """Sort key: folder by folder; in a folder the manifest first, then everything else by name."""
    folder, _, name = info.key.rpartition("/")
    return folder, 0 if name == MANIFEST_FILE else 1, name


def _is_md5(etag: str) -> bool:
    return bool(_MD5_HEX.match(etag.strip('"').lower()))


def _same(source: ObjectInfo, target: ObjectInfo | None, source_bytes: bytes | None) -> bool:
    if target is None or source.size != target.size:
        return False
    target_md5 = target.etag.strip('"').lower()
    if source_bytes is not None:
        return hashlib.md5(source_bytes, usedforsecurity=False).hexdigest() == target_md5
    return source.etag.strip('"').lower() == target_md5


def sync(source: ObjectStore, target: ObjectStore, prefix: str = DAILY_PREFIX) -> SyncReport:
    """Copy new or changed objects under `prefix` from `source` to `target`, manifests first. Idempotent."""
    report = SyncReport()
    targets = {info.key: info for info in target.list(prefix)}
    for info in sorted(source.list(prefix), key=_copy_order):
        existing = targets.get(info.key)
        data: bytes | None = None
        comparable = _is_md5(info.etag) and existing is not None and _is_md5(existing.etag)
        if existing is not None and existing.size == info.size and not comparable:
            data = _read(source, info.key)
            if data is None:
                report.vanished += 1
                continue
        if _same(info, existing, data):
            report.unchanged += 1
            continue
        if data is None:
            data = _read(source, info.key)
            if data is None:
                report.vanished += 1
                continue
        report.copied.append(target.put(info.key, data, content_type=_content_type(info.key)))
    return report


def _read(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except NotFoundError:
        return None
