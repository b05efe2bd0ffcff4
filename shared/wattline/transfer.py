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
- Verified: a daily readings file that does not match the sha256 and size its `manifest.json` records is never
  copied, and neither is that manifest (the target keeps its last consistent pair). It is reported once in
  `SyncReport.refused`, with a reason a caller can show, and the sync goes on with the other files: a permanent
  outcome of that file, not an error of the sync. (A folder whose manifest is missing or not a daily manifest is
  copied as is: the loader waits for a manifest that matches.)
- Idempotent: a second run with nothing changed copies nothing. Returns what it copied.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from wattline.errors import NotFoundError
from wattline.keys import DAILY_PREFIX, MANIFEST_FILE, READINGS_FILE, parse_daily_key
from wattline.models import DailyManifest
from wattline.ports import ObjectInfo, ObjectStore

_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class RefusedFile:
    """A daily readings file not copied because it does not match its manifest (nor was that manifest copied)."""

    key: str
    reason: str


@dataclass
class SyncReport:
    """What one sync run did: the copied objects (as written in the target), how many were identical, and the
    readings files refused because they do not match their manifest (each once)."""

    copied: list[ObjectInfo] = field(default_factory=list)
    unchanged: int = 0
    vanished: int = 0  # listed in the source, deleted before it could be read
    refused: list[RefusedFile] = field(default_factory=list)

    @property
    def copied_keys(self) -> list[str]:
        return [info.key for info in self.copied]

    @property
    def refused_keys(self) -> list[str]:
        return [refused.key for refused in self.refused]


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


def holds(target: ObjectInfo | None, data: bytes) -> bool:
    """The target's object is these bytes (same size, its MD5 etag theirs): what a sync would leave unchanged."""
    return (
        target is not None
        and target.size == len(data)
        and _md5_of(target) == hashlib.md5(data, usedforsecurity=False).hexdigest()
    )


def _md5_of(info: ObjectInfo) -> str:
    return info.etag.strip('"').lower()


def _same(source: ObjectInfo, target: ObjectInfo | None, source_bytes: bytes | None) -> bool:
    if source_bytes is not None:
        return holds(target, source_bytes)
    return target is not None and source.size == target.size and _md5_of(source) == _md5_of(target)


def sync(source: ObjectStore, target: ObjectStore, prefix: str = DAILY_PREFIX) -> SyncReport:
    """Copy new or changed objects under `prefix` from `source` to `target`, manifests first, daily readings only
    when they match their manifest (see the module docstring). Idempotent."""
    report = SyncReport()
    targets = {info.key: info for info in target.list(prefix)}
    days = _DayFolders(source)
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
        folder = days.folder(info.key)
        if folder is not None:
            refusal = days.refusal(folder)
            if refusal is not None:
                if refusal.key not in report.refused_keys:
                    report.refused.append(refusal)
                continue
            verified = days.cached(info.key)
            data = data if verified is None else verified  # copy exactly the bytes that were verified
        if data is None:
            data = _read(source, info.key)
            if data is None:
                report.vanished += 1
                continue
        report.copied.append(target.put(info.key, data, content_type=_content_type(info.key)))
    return report


class _DayFolders:
    """Whether each daily folder of the source may be copied: its readings file must match its manifest."""

    def __init__(self, source: ObjectStore) -> None:
        self.source = source
        self._verdicts: dict[str, RefusedFile | None] = {}
        self._bytes: dict[str, bytes | None] = {}

    @staticmethod
    def folder(key: str) -> str | None:
        """`daily/dt=…/device=…/` for a daily manifest or readings key, else None."""
        return key.rpartition("/")[0] + "/" if parse_daily_key(key) is not None else None

    def cached(self, key: str) -> bytes | None:
        """The bytes read while verifying (None when not read, or gone)."""
        return self._bytes.get(key)

    def refusal(self, folder: str) -> RefusedFile | None:
        if folder not in self._verdicts:
            self._verdicts[folder] = self._verify(folder)
        return self._verdicts[folder]

    def _verify(self, folder: str) -> RefusedFile | None:
        manifest_key, readings_key = folder + MANIFEST_FILE, folder + READINGS_FILE
        raw = self._bytes[manifest_key] = _read(self.source, manifest_key)
        if raw is None:
            return None  # no manifest (yet): nothing to verify against; the loader waits for one
        try:
            manifest = DailyManifest.model_validate_json(raw)
        except ValidationError:
            return None  # not a daily manifest: copied as is, the loader refuses what does not match
        data = self._bytes[readings_key] = _read(self.source, readings_key)
        if data is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if manifest.bytes == len(data) and manifest.sha256 == digest:
            return None
        return RefusedFile(
            readings_key,
            f"{readings_key} ({len(data)} B, sha256 {digest[:12]}…) does not match its manifest ({manifest.bytes} B, "
            f"sha256 {manifest.sha256[:12]}…): not transferred, nor its manifest",
        )


def _read(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except NotFoundError:
        return None
