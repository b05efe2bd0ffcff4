"""Archiving raw envelopes after aggregation: one bundle per device and UTC day, then delete the small objects.

Why bundles: a raw object is one MQTT message (~200 bytes, direct mode) or one minute of a device (Firehose mode).
Each object in Glacier carries ~40 KB of metadata overhead and a per-object transition fee, and lifecycle rules
skip objects under 128 KB by default, so moving the small objects themselves would cost more than it saves
(docs/aws.md, DOMAIN.md §4). The archiver packs every raw object of one (device, day) into one deterministic
`tar.gz` written straight into the archive storage class, verifies what the store reports back (size and
SHA-256), writes a small index beside it, and only then deletes the raw objects.

Layout (keys are deterministic, so a re-run never duplicates work):
    archive/dt=YYYY-MM-DD/device=<id>/raw-<sha256[:16]>.tar.gz     the bundle (GLACIER / DEEP_ARCHIVE)
    archive/dt=YYYY-MM-DD/device=<id>/raw-<sha256[:16]>.index.json the members, in STANDARD (readable at once)

Tar members are named by the raw object's file name and hold its bytes unchanged, so a restore recreates
raw/dt=…/device=…/ exactly and the aggregator can run again over it.

Safety rules: a day is archived only when its daily manifest exists, no dirty marker is pending and there are no
more raw objects than the manifest aggregated; raw objects are deleted only when they are listed in a bundle whose
size and SHA-256 the store confirmed; they go in batches of `delete_batch` (one S3 DeleteObjects request each).
Re-running after a crash at any point converges to the same end state.

Restoring puts every member back under its raw/ key byte for byte (checked against the index) and, once every
bundle of the device-day is back, writes the day's dirty marker (`keys.dirty_key`): the aggregator's plan picks the
day up and rebuilds its daily file from the complete raw/ again, and the archiver leaves it alone until then.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from wattline import keys
from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.models import DailyManifest
from wattline.ports import ObjectInfo, ObjectStore

ARCHIVE_PREFIX = keys.ARCHIVE_PREFIX
BUNDLE_SUFFIX = ".tar.gz"
INDEX_SUFFIX = ".index.json"
DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1,000 keys a request


class StorageClass(StrEnum):
    """Where a bundle is written. STANDARD is for stores without classes (filesystem, tests)."""

    STANDARD = "STANDARD"
    GLACIER_IR = "GLACIER_IR"
    GLACIER = "GLACIER"
    DEEP_ARCHIVE = "DEEP_ARCHIVE"


class RestoreState(StrEnum):
    AVAILABLE = "available"  # readable now (a STANDARD object, or a restored copy)
    IN_PROGRESS = "in_progress"  # a restore was requested and is running (hours for GLACIER / DEEP_ARCHIVE)
    ARCHIVED = "archived"  # in an archive class, no restore requested yet


class ArchiveStatus(StrEnum):
    ARCHIVED = "archived"
    NOTHING_TO_ARCHIVE = "nothing_to_archive"
    NOT_AGGREGATED = "not_aggregated"
    DIRTY = "dirty"
    MORE_RAW_THAN_AGGREGATED = "more_raw_than_aggregated"
    TOO_RECENT = "too_recent"


class BundleVerificationError(TransientError):
    """The store reported a bundle different from what was written: nothing is deleted; retry."""


class BundleNotReadableError(TransientError):
    """The bundle is in an archive storage class and has not been restored (yet): request a restore, retry later."""


@dataclass(frozen=True)
class StoredBundle:
    """What the store reports about a written bundle. `sha256` is hex, or None when the store cannot tell."""

    key: str
    size: int
    sha256: str | None
    storage_class: str


@runtime_checkable
class BundleStore(Protocol):
    """Writes and reads bundles with a storage class: S3 (`wattline.adapters.s3_bundles`) or any ObjectStore
    (`ObjectStoreBundles`, for the filesystem stack and tests)."""

    def put_bundle(self, key: str, data: bytes, *, sha256: str, storage_class: StorageClass) -> None:
        """Write the bundle; the store should reject the upload if the bytes do not hash to `sha256`."""
        ...

    def stat_bundle(self, key: str) -> StoredBundle | None:
        """Size and SHA-256 as the store reports them (without reading an archived object), or None if absent."""
        ...

    def get_bundle(self, key: str) -> bytes:
        """The bundle's bytes; raises BundleNotReadableError while it is archived and not restored."""
        ...

    def request_restore(self, key: str, *, days: int, tier: str) -> RestoreState:
        """Ask for a temporary readable copy (idempotent); returns the state after asking."""
        ...

    def restore_state(self, key: str) -> RestoreState | None:
        """Whether the bundle can be read now, without asking for anything; None if it does not exist."""
        ...


class BundleMember(BaseModel):
    key: str
    size: int
    etag: str
    sha256: str


class BundleIndex(BaseModel):
    """Written beside each bundle in STANDARD: what it holds, so nothing needs the archived bytes to decide."""

    device_id: str
    date: str
    bundle_key: str
    sha256: str
    size: int
    storage_class: str
    members: list[BundleMember]

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), indent=1, sort_keys=True).encode()


class ArchiveResult(BaseModel):
    device_id: str
    date: str
    status: ArchiveStatus
    bundle_key: str | None = None
    objects: int = 0
    raw_bytes: int = 0
    bundle_bytes: int = 0
    deleted: int = 0
    detail: str = ""


class RestoreResult(BaseModel):
    """One device-day of `restore_day`: `pending` bundles are still being restored (call again later);
    `marked_dirty` says the day waits for re-aggregation (every bundle was back under raw/)."""

    device_id: str
    date: str
    bundles: int
    pending: int
    restored_objects: int
    marked_dirty: bool = False


class DayRestoreState(StrEnum):
    NOT_ARCHIVED = "not_archived"  # no bundle of this device-day
    ARCHIVED = "archived"  # a bundle is in an archive class and no restore was requested
    IN_PROGRESS = "in_progress"  # a restore is running: run `restore` again when it finished
    READABLE = "readable"  # every bundle can be read; `restore` unpacks them
    RESTORED = "restored"  # every member is back under raw/


class BundleRestoreStatus(BaseModel):
    bundle_key: str
    storage_class: str
    state: RestoreState | None  # None: the index names a bundle that is not there
    members: int
    members_in_raw: int


class RestoreStatus(BaseModel):
    """What `restore --status` reports for one device-day; reads only, requests nothing."""

    device_id: str
    date: str
    state: DayRestoreState
    bundles: list[BundleRestoreStatus]
    members: int
    members_in_raw: int
    reaggregation_pending: bool


# --- keys -------------------------------------------------------------------------------------------------------


archive_dir = keys.archive_prefix


def bundle_key(day: date, device_id: str, sha256: str) -> str:
    return f"{archive_dir(day, device_id)}raw-{sha256[:16]}{BUNDLE_SUFFIX}"


def index_key_for(bundle: str) -> str:
    if not bundle.endswith(BUNDLE_SUFFIX):
        raise ValueError(f"not a bundle key: {bundle!r}")
    return bundle[: -len(BUNDLE_SUFFIX)] + INDEX_SUFFIX


# --- the bundle format ------------------------------------------------------------------------------------------


def build_bundle(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deterministic tar.gz of (name, bytes): sorted by name, zero timestamps and owners. Same input, same bytes."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive,
    ):
        for name, data in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_bundle(data: bytes) -> list[tuple[str, bytes]]:
    """The (name, bytes) members of a bundle, in order. A corrupt bundle raises PermanentError."""
    members: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for info in archive:
                if not info.isfile() or "/" in info.name or info.name in ("", ".", ".."):
                    raise PermanentError(f"unexpected bundle member {info.name!r}")
                handle = archive.extractfile(info)
                if handle is None:  # pragma: no cover - isfile() members always have data
                    raise PermanentError(f"unreadable bundle member {info.name!r}")
                members.append((info.name, handle.read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PermanentError(f"corrupt bundle: {exc}") from exc
    return members


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- archiving ----------------------------------------------------------------------------------------------------


def _check_device(device_id: str) -> None:
    if not keys.is_safe_device_id(device_id):
        raise PermanentError(f"unsafe device id {device_id!r}")


def _manifest(store: ObjectStore, day: date, device_id: str) -> DailyManifest | None:
    try:
        raw = store.get(keys.daily_manifest_key(day, device_id))
    except NotFoundError:
        return None
    try:
        return DailyManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise PermanentError(f"unreadable manifest for {device_id} {day}: {exc}") from exc


def _existing_indexes(store: ObjectStore, day: date, device_id: str) -> list[BundleIndex]:
    indexes = []
    for info in store.list(archive_dir(day, device_id)):
        if info.key.endswith(INDEX_SUFFIX):
            indexes.append(BundleIndex.model_validate_json(store.get(info.key)))
    return indexes


def _verified(bundles: BundleStore, key: str, *, size: int, sha256: str) -> bool:
    stored = bundles.stat_bundle(key)
    return stored is not None and stored.size == size and stored.sha256 == sha256


def archive_day(
    store: ObjectStore,
    bundles: BundleStore,
    device_id: str,
    day: date,
    *,
    storage_class: StorageClass = StorageClass.GLACIER,
    today: date | None = None,
    min_age_days: int = 0,
    concurrency: int = 16,
    delete_batch: int = DELETE_BATCH,
) -> ArchiveResult:
    """Bundle one device's raw objects of one UTC day into the archive, verify, then delete them. Idempotent.

    `today` and `min_age_days` keep recent days in raw/ (late data re-aggregates from raw/; see docs/aws.md).
    `concurrency` objects are read (and, on stores without batch deletes, deleted) in parallel (a direct-mode Gen1
    day is ~46,000 small objects); they are deleted `delete_batch` at a time, in key order.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if not 1 <= delete_batch <= DELETE_BATCH:
        raise ValueError(f"delete_batch must be 1 to {DELETE_BATCH}")
    _check_device(device_id)
    result = ArchiveResult(device_id=device_id, date=day.isoformat(), status=ArchiveStatus.NOTHING_TO_ARCHIVE)
    if today is not None and (today - day).days < min_age_days:
        return result.model_copy(
            update={"status": ArchiveStatus.TOO_RECENT, "detail": f"younger than {min_age_days} d"}
        )
    raw = [info for info in store.list(keys.raw_prefix(day, device_id)) if keys.parse_raw_key(info.key)]
    if not raw:
        return result
    manifest = _manifest(store, day, device_id)
    if manifest is None:
        return result.model_copy(update={"status": ArchiveStatus.NOT_AGGREGATED, "detail": "no daily manifest"})
    if store.head(keys.dirty_key(day, device_id)) is not None:
        return result.model_copy(update={"status": ArchiveStatus.DIRTY, "detail": "re-aggregation pending"})
    if len(raw) > manifest.source_objects:
        detail = f"{len(raw)} raw objects but the manifest aggregated {manifest.source_objects}"
        return result.model_copy(update={"status": ArchiveStatus.MORE_RAW_THAN_AGGREGATED, "detail": detail})

    # Raw objects an earlier (interrupted) run already put into a verified bundle are only deleted.
    already: dict[str, BundleMember] = {}
    for index in _existing_indexes(store, day, device_id):
        if _verified(bundles, index.bundle_key, size=index.size, sha256=index.sha256):
            already.update({member.key: member for member in index.members})
    done = [info for info in raw if info.key in already and already[info.key].etag == info.etag]
    done_keys = {info.key for info in done}
    todo = [info for info in raw if info.key not in done_keys]

    bundle: str | None = None
    bundle_bytes = 0
    raw_bytes = 0
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        if todo:
            contents = list(pool.map(lambda info: store.get(info.key), todo))
            bundle, bundle_bytes, raw_bytes = _write_bundle(
                store, bundles, device_id, day, list(zip(todo, contents, strict=True)), storage_class
            )
        # Only now, with the bundle verified and its index written, do the raw objects go.
        doomed = sorted(info.key for info in [*done, *todo])
        for start in range(0, len(doomed), delete_batch):
            _delete(store, doomed[start : start + delete_batch], pool)
    return result.model_copy(
        update={
            "status": ArchiveStatus.ARCHIVED,
            "bundle_key": bundle,
            "objects": len(todo),
            "raw_bytes": raw_bytes,
            "bundle_bytes": bundle_bytes,
            "deleted": len(done) + len(todo),
        }
    )


def _delete(store: ObjectStore, batch: Sequence[str], pool: ThreadPoolExecutor) -> None:
    """One batch: a single request on stores that delete many keys at once (S3 DeleteObjects), else in parallel."""
    delete_many = getattr(store, "delete_many", None)
    if delete_many is not None:
        delete_many(list(batch))
    else:
        list(pool.map(store.delete, batch))


def _write_bundle(
    store: ObjectStore,
    bundles: BundleStore,
    device_id: str,
    day: date,
    raw: Sequence[tuple[ObjectInfo, bytes]],
    storage_class: StorageClass,
) -> tuple[str, int, int]:
    members: list[tuple[str, bytes]] = []
    index_members: list[BundleMember] = []
    for info, data in raw:
        members.append((info.key.rsplit("/", 1)[1], data))
        index_members.append(BundleMember(key=info.key, size=len(data), etag=info.etag, sha256=sha256_hex(data)))
    data = build_bundle(members)
    digest = sha256_hex(data)
    key = bundle_key(day, device_id, digest)
    if not _verified(bundles, key, size=len(data), sha256=digest):
        bundles.put_bundle(key, data, sha256=digest, storage_class=storage_class)
        if not _verified(bundles, key, size=len(data), sha256=digest):
            stored = bundles.stat_bundle(key)
            raise BundleVerificationError(f"{key}: wrote {len(data)} bytes sha256 {digest}, the store reports {stored}")
    index = BundleIndex(
        device_id=device_id,
        date=day.isoformat(),
        bundle_key=key,
        sha256=digest,
        size=len(data),
        storage_class=storage_class.value,
        members=sorted(index_members, key=lambda member: member.key),
    )
    store.put(index_key_for(key), index.to_json(), content_type="application/json")
    return key, len(data), sum(member.size for member in index_members)


def archive_due(
    store: ObjectStore,
    bundles: BundleStore,
    *,
    today: date,
    min_age_days: int,
    lookback_days: int | None,
    storage_class: StorageClass = StorageClass.GLACIER,
    concurrency: int = 16,
    delete_batch: int = DELETE_BATCH,
) -> list[ArchiveResult]:
    """Archive every device of every UTC day from `today - min_age_days - lookback_days` to `today - min_age_days`
    (`lookback_days=None`: from the oldest day in raw/).

    Days not ready (no manifest, dirty, more raw than aggregated) are reported and left for a later run.
    """
    results: list[ArchiveResult] = []
    newest = today - timedelta(days=min_age_days)
    if lookback_days is None:
        days = [day for day in raw_days(store) if day <= newest]
    else:
        days = [newest - timedelta(days=offset) for offset in range(lookback_days, -1, -1)]
    for day in days:
        devices = sorted(
            {
                parsed[1]
                for info in store.list(f"{keys.RAW_PREFIX}dt={day.isoformat()}/")
                if (parsed := keys.parse_raw_key(info.key))
            }
        )
        for device_id in devices:
            results.append(
                archive_day(
                    store,
                    bundles,
                    device_id,
                    day,
                    storage_class=storage_class,
                    concurrency=concurrency,
                    delete_batch=delete_batch,
                )
            )
    return results


def raw_days(store: ObjectStore) -> list[date]:
    """The UTC days that have a raw/dt=…/ partition, oldest first (one delimiter listing where the store has it)."""
    list_prefixes = getattr(store, "list_prefixes", None)
    if list_prefixes is not None:
        prefixes: Iterable[str] = list_prefixes(keys.RAW_PREFIX)
    else:
        prefixes = {
            keys.RAW_PREFIX + info.key[len(keys.RAW_PREFIX) :].split("/", 1)[0] + "/"
            for info in store.list(keys.RAW_PREFIX)
        }
    days = set()
    for prefix in prefixes:
        try:
            days.add(date.fromisoformat(prefix.removeprefix(keys.RAW_PREFIX).removeprefix("dt=").rstrip("/")))
        except ValueError:
            continue
    return sorted(days)


def days_between(first: date, last: date) -> list[date]:
    """Every UTC day from `first` to `last`, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


# --- restoring ----------------------------------------------------------------------------------------------------


def restore_day(
    store: ObjectStore,
    bundles: BundleStore,
    device_id: str,
    day: date,
    *,
    days: int = 7,
    tier: str = "Standard",
) -> RestoreResult:
    """Put a day's archived raw objects back under raw/ (byte-identical), requesting restores where needed.

    Call again until `pending` is 0: bundles still in an archive class get a restore request (hours for GLACIER,
    up to 48 h for DEEP_ARCHIVE) and are unpacked on a later call. Every member is checked against the index.
    """
    _check_device(device_id)
    indexes = _existing_indexes(store, day, device_id)
    pending = 0
    restored = 0
    for index in indexes:
        state = bundles.request_restore(index.bundle_key, days=days, tier=tier)
        if state is not RestoreState.AVAILABLE:
            pending += 1
            continue
        data = bundles.get_bundle(index.bundle_key)
        if sha256_hex(data) != index.sha256:
            raise PermanentError(f"{index.bundle_key}: content does not match its index")
        restored += _unpack(store, index, read_bundle(data))
    marked = False
    if indexes and not pending:
        # Every member is back: the aggregator rebuilds the day from the complete raw/ (and the archiver waits).
        note = "restored from " + " ".join(sorted(index.bundle_key for index in indexes))
        store.put(keys.dirty_key(day, device_id), note.encode("utf-8"), content_type="text/plain")
        marked = True
    return RestoreResult(
        device_id=device_id,
        date=day.isoformat(),
        bundles=len(indexes),
        pending=pending,
        restored_objects=restored,
        marked_dirty=marked,
    )


def restore_status(store: ObjectStore, bundles: BundleStore, device_id: str, day: date) -> RestoreStatus:
    """Where a device-day's restore stands, without requesting anything: each bundle's state and how many of its
    members are back under raw/ (one listing of the day's raw/ prefix), and whether re-aggregation is pending."""
    _check_device(device_id)
    indexes = _existing_indexes(store, day, device_id)
    in_raw = {info.key: info.size for info in store.list(keys.raw_prefix(day, device_id))}
    reports = []
    for index in indexes:
        back = sum(1 for member in index.members if in_raw.get(member.key) == member.size)
        reports.append(
            BundleRestoreStatus(
                bundle_key=index.bundle_key,
                storage_class=index.storage_class,
                state=bundles.restore_state(index.bundle_key),
                members=len(index.members),
                members_in_raw=back,
            )
        )
    members = sum(report.members for report in reports)
    back = sum(report.members_in_raw for report in reports)
    states = {report.state for report in reports}
    if not reports:
        state = DayRestoreState.NOT_ARCHIVED
    elif back == members:
        state = DayRestoreState.RESTORED
    elif RestoreState.IN_PROGRESS in states:
        state = DayRestoreState.IN_PROGRESS
    elif states == {RestoreState.AVAILABLE}:
        state = DayRestoreState.READABLE
    else:
        state = DayRestoreState.ARCHIVED
    return RestoreStatus(
        device_id=device_id,
        date=day.isoformat(),
        state=state,
        bundles=reports,
        members=members,
        members_in_raw=back,
        reaggregation_pending=store.head(keys.dirty_key(day, device_id)) is not None,
    )


def _unpack(store: ObjectStore, index: BundleIndex, members: Iterable[tuple[str, bytes]]) -> int:
    by_name = {member.key.rsplit("/", 1)[1]: member for member in index.members}
    count = 0
    for name, data in members:
        member = by_name.get(name)
        if member is None or sha256_hex(data) != member.sha256:
            raise PermanentError(f"{index.bundle_key}: member {name!r} does not match the index")
        existing = store.head(member.key)
        if existing is None or existing.size != len(data):
            store.put(member.key, data, content_type="application/json")
        count += 1
    return count


# --- a BundleStore over any ObjectStore (filesystem stack, tests) ---------------------------------------------------


class ObjectStoreBundles:
    """Bundles in a plain ObjectStore: no storage classes, always readable; verification reads the bytes back."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def put_bundle(self, key: str, data: bytes, *, sha256: str, storage_class: StorageClass) -> None:
        if sha256_hex(data) != sha256:
            raise PermanentError(f"{key}: data does not match the given sha256")
        self.store.put(key, data, content_type="application/gzip")

    def stat_bundle(self, key: str) -> StoredBundle | None:
        try:
            data = self.store.get(key)
        except NotFoundError:
            return None
        return StoredBundle(key=key, size=len(data), sha256=sha256_hex(data), storage_class=StorageClass.STANDARD)

    def get_bundle(self, key: str) -> bytes:
        return self.store.get(key)

    def request_restore(self, key: str, *, days: int, tier: str) -> RestoreState:
        if self.store.head(key) is None:
            raise NotFoundError(f"{key} does not exist")
        return RestoreState.AVAILABLE

    def restore_state(self, key: str) -> RestoreState | None:
        return RestoreState.AVAILABLE if self.store.head(key) is not None else None
