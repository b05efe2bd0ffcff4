"""The local runtime: every cloud trigger of the pipeline, wired in one place, on embedded backends.

Cloud trigger → local stand-in (same event shapes, same domain functions as the cloud handlers):

| cloud | local event kind | handler |
|---|---|---|
| S3 `Object Created` on `raw/` (EventBridge; here S3 notification JSON) | `s3` | `aggregation.validate_object` |
| EventBridge Scheduler → Step Functions input `{"now"}` | `schedule` | `aggregation.plan_days` → `aggregate` items |
| Step Functions Map item `{"device_id", "date"}` | `aggregate` | `aggregation.aggregate_day` |
| Storage Transfer job run (`daily/`) | `transfer` | `transfer.sync` → one `storage` event per copied object |
| GCS finalize CloudEvent `google.cloud.storage.object.v1.finalized` | `storage` | `loader.load_daily_file` |
| Pub/Sub `energy-updated` (messagePublished CloudEvent data) | `pubsub` | `alerts.pipeline.run_detect` |
| Pub/Sub `alerts` | `pubsub` | `alerts.deliver.deliver` to each sink (local outbox unless SMTP/Slack set) |
| EventBridge Scheduler → archiver Lambda `{"now"}` | `archive` | `stages.run_archive` (bundles in archive/) |

A home's directory bucket has no Glacier: bundles stay in its archive/ (STANDARD), readable at once.
`wattline archive` and `wattline restore` run the archive stage on a home directly (`Runtime.archive`,
`Runtime.restore`); the schedule queues an `archive` event only with `WATTLINE_ARCHIVE_ON_SCHEDULE=true`.

Events are JSON files under `<home>/queue/pending/`, handled in order. A handler that raises is retried (bounded,
`max_attempts`); a `PermanentError` or the last failed attempt parks the event under `<home>/queue/dead/`, which
`wattline status` lists and `wattline retry` re-drives. Every handler is idempotent, so re-driving is safe.
"""

from __future__ import annotations

import base64
import builtins
import json
import logging
import os
import threading
import time
import traceback
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote_plus, unquote_plus

from wattline import keys
from wattline.adapters.fs_store import FsObjectStore
from wattline.adapters.objects import info_of
from wattline.errors import NotFoundError, PermanentError
from wattline.local.lock import HomeLock
from wattline.ports import ColumnarWarehouse, ObjectInfo, ObjectStore, Publisher
from wattline.settings import Settings, load_toml_overrides

if TYPE_CHECKING:
    from wattline.aggregation import DayItem
    from wattline.alerts.settings import AlertSettings
    from wattline.alerts.thresholds import Thresholds
    from wattline.archive import ArchiveResult, BundleStore, RestoreResult, RestoreStatus
    from wattline.archive_stage import ArchiveRequest, ArchiveSettings
    from wattline.env_settings import EnvSettings
    from wattline.loader import LoaderOptions, ParsedFiles
    from wattline.parsing.batch import ParsedBatch
    from wattline.stages import AggregationSettings
    from wattline.transfer import SyncReport

logger = logging.getLogger(__name__)
StageSettings = TypeVar("StageSettings", bound="EnvSettings")

RAW_BUCKET = "wattline-raw"
GCS_BUCKET = "wattline-daily"
ENERGY_TOPIC = "energy-updated"
ALERTS_TOPIC = "alerts"
DEAD_LETTER_TOPIC = "alerts-dead-letter"
MAX_ATTEMPTS = 3
HANDED_OVER_BYTES = 128 << 20
"""How much of the aggregated days' columns waits for their loads (~26 MB a 1 Hz two-channel day): a run's first
days are loaded from them, later ones parse their files."""
VALIDATED_BYTES = 96 << 20
"""How much of what the validations parsed waits for the aggregations in one run (~22 MB of rows a 1 Hz
two-channel day): the first days a run aggregates take their rows from it, later ones parse their objects."""
EMULATOR_PROJECT = "wattline-local"  # the GCP project the emulator stack uses on every emulator


class EventKind(StrEnum):
    S3 = "s3"
    SCHEDULE = "schedule"
    AGGREGATE = "aggregate"
    TRANSFER = "transfer"
    STORAGE = "storage"
    PUBSUB = "pubsub"
    ARCHIVE = "archive"


_DAILY_FILE_STAGES = frozenset({EventKind.AGGREGATE, EventKind.TRANSFER, EventKind.STORAGE})
"""The stages between which `Runtime.daily_files` is kept: from a day's aggregation to its load."""
_VALIDATED_STAGES = frozenset({EventKind.S3, EventKind.SCHEDULE, EventKind.AGGREGATE})
"""The stages between which `Runtime.validated_objects` is kept: from an object's validation to its aggregation."""


class ValidatedObjects:
    """What validating raw objects parsed (`validate_object`'s `keep`), for their aggregation later in the same run
    (`aggregate_day`'s `validated`), up to `budget` bytes of rows: a raw object is parsed once, not twice. Taken
    once, and only while the object's size and CRC-32 are still those validated."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._kept: dict[str, tuple[int, int, ParsedBatch]] = {}
        self._bytes = 0

    def keep(self, key: str, data: bytes, parsed: ParsedBatch) -> None:
        self._forget(key)
        if self._bytes + parsed.rows.nbytes <= self.budget:
            self._kept[key] = (len(data), zlib.crc32(data), parsed)
            self._bytes += parsed.rows.nbytes

    def take(self, key: str, data: bytes) -> ParsedBatch | None:
        kept = self._forget(key)
        if kept is None or kept[:2] != (len(data), zlib.crc32(data)):
            return None
        return kept[2]

    def _forget(self, key: str) -> tuple[int, int, ParsedBatch] | None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._bytes -= kept[2].rows.nbytes
        return kept


# ---------------------------------------------------------------------------------------------------------------
# Home and settings


@dataclass(frozen=True)
class Home:
    """Where the local stack keeps its state. Layout documented in docs/demo.md."""

    root: Path

    @property
    def s3_root(self) -> Path:
        return self.root / "s3"

    @property
    def gcs_root(self) -> Path:
        return self.root / "gcs"

    @property
    def raw_bucket(self) -> Path:
        return self.s3_root / RAW_BUCKET

    @property
    def gcs_bucket(self) -> Path:
        return self.gcs_root / GCS_BUCKET

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def pending(self) -> Path:
        return self.root / "queue" / "pending"

    @property
    def dead(self) -> Path:
        return self.root / "queue" / "dead"

    @property
    def capture(self) -> Path:
        return self.root / "capture.jsonl"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def config(self) -> Path:
        return self.root / "wattline.toml"

    @property
    def demo_state(self) -> Path:
        return self.root / "demo.json"


def resolve_home(home: Path | None) -> Path:
    """`--home`, else WATTLINE_HOME (through the settings model), else ./.wattline."""
    if home is not None:
        return home
    return Settings().home


def load_settings(home: Path) -> Settings:
    """Settings for one home: `<home>/wattline.toml`, overridden by WATTLINE_* environment variables."""
    from_env = Settings()
    values: dict[str, Any] = dict(load_toml_overrides(home))
    values.update({name: getattr(from_env, name) for name in from_env.model_fields_set})
    values["home"] = home
    return Settings.model_validate(values)


# ---------------------------------------------------------------------------------------------------------------
# Event queue on disk


@dataclass
class Event:
    id: str
    kind: EventKind
    body: dict[str, Any]
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    created: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind.value,
                "body": self.body,
                "attempts": self.attempts,
                "errors": self.errors,
                "created": self.created,
            },
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> Event:
        data = json.loads(text)
        return cls(
            data["id"],
            EventKind(data["kind"]),
            data["body"],
            int(data.get("attempts", 0)),
            list(data.get("errors", [])),
            str(data.get("created", "")),
        )


class EventQueue:
    """Pending and dead-letter events as files; names sort in arrival order."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._sequence = 0

    def _name(self, kind: EventKind) -> str:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        return f"{time.time_ns():020d}-{sequence:06d}-{kind.value}-{uuid.uuid4().hex[:8]}"

    def put(self, kind: EventKind, body: Mapping[str, Any]) -> Event:
        event = Event(self._name(kind), kind, dict(body), created=datetime.now(UTC).isoformat())
        self._write(self.home.pending, event)
        return event

    def _write(self, folder: Path, event: Event) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".tmp-{event.id}"
        temp.write_text(event.to_json(), encoding="utf-8")
        os.replace(temp, folder / f"{event.id}.json")

    def _names(self, folder: Path) -> list[str]:
        """The event files' names, unsorted (a listing per event handled: only what asks for order sorts)."""
        try:
            return [name for name in os.listdir(folder) if name.endswith(".json") and not name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def _list(self, folder: Path) -> list[Path]:
        return [folder / name for name in sorted(self._names(folder))]

    def pending(self) -> list[Event]:
        return [Event.from_json(path.read_text(encoding="utf-8")) for path in self._list(self.home.pending)]

    def pending_count(self) -> int:
        """How many events wait (without reading them: a progress bar asks after every event)."""
        return len(self._names(self.home.pending))

    def dead(self) -> list[Event]:
        return [Event.from_json(path.read_text(encoding="utf-8")) for path in self._list(self.home.dead)]

    def next(self) -> Event | None:
        names = self._names(self.home.pending)
        if not names:
            return None
        return Event.from_json((self.home.pending / min(names)).read_text(encoding="utf-8"))

    def done(self, event: Event) -> None:
        (self.home.pending / f"{event.id}.json").unlink(missing_ok=True)

    def retry_later(self, event: Event) -> None:
        """Back into the queue, behind what is already pending (a new name keeps the order honest). The new entry
        is written before the old one goes: a crash in between leaves the event twice, never not at all."""
        old = event.id
        event.id = self._name(event.kind)
        self._write(self.home.pending, event)
        (self.home.pending / f"{old}.json").unlink(missing_ok=True)

    def park(self, event: Event) -> None:
        self._write(self.home.dead, event)
        self.done(event)

    def redrive(self, ids: list[str] | None = None) -> list[Event]:
        """Dead letters back to pending with a fresh attempt budget; all of them when `ids` is None."""
        moved = []
        for path in self._list(self.home.dead):
            event = Event.from_json(path.read_text(encoding="utf-8"))
            if ids is not None and not any(event.id.startswith(wanted) for wanted in ids):
                continue
            event.attempts = 0
            self._write(self.home.pending, event)
            path.unlink()
            moved.append(event)
        return moved


# ---------------------------------------------------------------------------------------------------------------
# Cloud-shaped events


def s3_event(bucket: str, infos: list[ObjectInfo]) -> dict[str, Any]:
    """An S3 event notification (the JSON S3 sends to Lambda) with one record per object; keys URL-encoded."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "local",
                "eventTime": now,
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "raw-created",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "local"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(info.key, safe="/"),
                        "size": info.size,
                        "eTag": info.etag,
                        "sequencer": f"{time.time_ns():X}",
                    },
                },
            }
            for info in infos
        ]
    }


def s3_event_keys(event: Mapping[str, Any]) -> list[str]:
    """The (decoded) object keys of an S3 event notification."""
    return [unquote_plus(str(record["s3"]["object"]["key"])) for record in event.get("Records", [])]


def pubsub_push(topic: str, data: bytes, attributes: Mapping[str, str] | None, message_id: str) -> dict[str, Any]:
    """The data of a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent (what a 2nd-gen function gets)."""
    return {
        "topic": topic,
        "subscription": f"projects/local/subscriptions/{topic}-sub",
        "message": {
            "data": base64.b64encode(data).decode("ascii"),
            "attributes": dict(attributes or {}),
            "messageId": message_id,
            "publishTime": datetime.now(UTC).isoformat(),
        },
    }


def enqueue_pubsub(queue: EventQueue) -> Callable[[str, bytes, dict[str, str], str], None]:
    """A delivery callback that turns one pulled Pub/Sub message into a local `pubsub` event."""

    def deliver(topic: str, data: bytes, attributes: dict[str, str], message_id: str) -> None:
        queue.put(EventKind.PUBSUB, pubsub_push(topic, data, attributes, message_id))

    return deliver


class QueuePublisher:
    """The local Pub/Sub: a published message becomes a `pubsub` event for the topic's subscriber."""

    def __init__(
        self, queue: EventQueue, record: Callable[[str, bytes, Mapping[str, str] | None], None] | None = None
    ) -> None:
        self.queue = queue
        self.record = record

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        message_id = uuid.uuid4().hex
        self.queue.put(EventKind.PUBSUB, pubsub_push(topic, data, attributes, message_id))
        if self.record is not None:
            self.record(topic, data, attributes)
        return message_id


def raw_bucket_events(bucket: str, info: ObjectInfo) -> tuple[EventKind, dict[str, Any]] | None:
    """What a write to the local S3 bucket notifies: a raw object → validate (S3 → EventBridge); a daily manifest
    (the last object aggregate writes) → the transfer of its device-day, so a day aggregated on a retry, after the
    schedule's transfer ran, is still copied."""
    if info.key.startswith(keys.RAW_PREFIX):
        return EventKind.S3, s3_event(bucket, [info])
    parsed = keys.parse_daily_key(info.key)
    if parsed is not None and parsed[2] == keys.MANIFEST_FILE:
        return EventKind.TRANSFER, {"prefix": keys.daily_dir(parsed[0], parsed[1])}
    return None


def gcs_bucket_events(bucket: str, info: ObjectInfo) -> tuple[EventKind, dict[str, Any]] | None:
    """What a write to the local GCS bucket notifies: every daily object → a finalize CloudEvent (Eventarc), with
    the etag as its generation (the loader acts on readings files and acks the rest)."""
    from wattline.local.events import finalized_event

    if not info.key.startswith(keys.DAILY_PREFIX):
        return None
    attributes, data = finalized_event(bucket, info.key, info.etag)
    return EventKind.STORAGE, {"attributes": attributes, "data": data}


class NotifyingStore:
    """A local bucket whose writes notify, as S3 → EventBridge and GCS → Eventarc do: the event for a new object
    is written to the queue *before* the object (its etag is computed from the bytes), so a crash in between
    leaves an event whose handler finds no object (and acks, or redoes the work), never an object nobody is told
    of. `events(bucket, info)` says which event a write causes, if any."""

    def __init__(
        self,
        inner: ObjectStore,
        queue: EventQueue,
        events: Callable[[str, ObjectInfo], tuple[EventKind, dict[str, Any]] | None] = raw_bucket_events,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.queue = queue
        self.events = events

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream", if_absent: bool = False
    ) -> ObjectInfo:
        event = self.events(self.name, info_of(key, data))
        if event is not None and not (if_absent and self.inner.head(key) is not None):
            self.queue.put(*event)
        return self.inner.put(key, data, content_type=content_type, if_absent=if_absent)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def list_keys(self, prefix: str) -> builtins.list[str]:
        lister = getattr(self.inner, "list_keys", None)
        if lister is not None:
            return builtins.list(lister(prefix))
        return [info.key for info in self.inner.list(prefix)]

    def list_prefixes(self, prefix: str) -> builtins.list[str]:
        lister = getattr(self.inner, "list_prefixes", None)
        if lister is not None:
            return builtins.list(lister(prefix))
        found = {
            prefix + key[len(prefix) :].split("/", 1)[0] + "/"
            for key in self.list_keys(prefix)
            if "/" in key[len(prefix) :]
        }
        return sorted(found)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def delete_many(self, keys: builtins.list[str]) -> None:
        """The inner store's batch delete (S3 DeleteObjects) where it has one, else one key at a time."""
        delete_many = getattr(self.inner, "delete_many", None)
        if delete_many is not None:
            delete_many(keys)
            return
        for key in keys:
            self.inner.delete(key)


# ---------------------------------------------------------------------------------------------------------------
# The runtime


@dataclass
class RunReport:
    handled: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    dead: int = 0
    alerts_published: int = 0

    def count(self, kind: EventKind) -> None:
        self.handled[kind.value] = self.handled.get(kind.value, 0) + 1


class Runtime:
    """The embedded stack of one home: buckets, queue, warehouse, handlers. Not thread-safe for `run`."""

    def __init__(
        self,
        home: Path,
        *,
        settings: Settings | None = None,
        clock: Callable[[], datetime] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        thresholds: Thresholds | None = None,
        s3_store: ObjectStore | None = None,
        gcs_store: ObjectStore | None = None,
        gcs_fs_root: Path | None = None,
        warehouse: ColumnarWarehouse | None = None,
        read_only: bool = False,
    ) -> None:
        """`s3_store`/`gcs_store` replace the home's directory buckets (the emulator stack passes S3 and GCS
        adapters); `gcs_fs_root` is where the warehouse's readings_ext finds `<bucket>/daily/…` on disk;
        `warehouse` replaces the home's DuckDB file (the emulator stack passes BigQuery on bqemulator)."""
        self.home = Home(home)
        self.home_lock = HomeLock(home)
        self.read_only = read_only  # a reader of a read-only home: the warehouse is opened read-only, never set up
        self.settings = settings or load_settings(home)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_attempts = max_attempts
        self.queue = EventQueue(self.home)
        self.s3 = NotifyingStore(s3_store or FsObjectStore(self.home.raw_bucket, name=RAW_BUCKET), self.queue)
        # The embedded GCS bucket notifies the loader of each finalized daily object (Eventarc); the emulator stack's
        # fake-gcs-server notifies through Pub/Sub itself (`deliver_copied`).
        self.gcs: ObjectStore = gcs_store or NotifyingStore(
            FsObjectStore(self.home.gcs_bucket, name=GCS_BUCKET), self.queue, gcs_bucket_events
        )
        self.gcs_fs_root = gcs_fs_root or self.home.gcs_root
        self.publisher: Publisher = QueuePublisher(self.queue)
        self._thresholds = thresholds
        self._warehouse: ColumnarWarehouse | None = warehouse
        self._daily_files: ParsedFiles | None = None  # shared by consecutive aggregate to storage events; see _dispatch
        self._validated: ValidatedObjects | None = None  # shared by consecutive s3 to aggregate events; see _dispatch
        self.closers: builtins.list[Callable[[], None]] = []  # e.g. stop the emulator servers behind the stores
        self.inbound: Callable[[], int] | None = None  # pulls external deliveries into the queue when it is empty
        # Remote functions (the emulator stack): GCS finalize is delivered by whoever `deliver_copied` calls
        # (fake-gcs-server notifications → relay → the loader function) instead of `storage` events, and
        # energy.updated is POSTed to the detect function at `detect_url` as a messagePublished CloudEvent.
        self.deliver_copied: Callable[[SyncReport], None] | None = None
        self.detect_url: str | None = None
        self._acks: builtins.list[Event] = []  # events the running handler settles, acknowledged with it
        self.readings_from_objects = False  # the warehouse's readings_ext reads nothing (bqemulator): use the files
        self.handlers: dict[EventKind, Callable[[dict[str, Any], RunReport], None]] = {
            EventKind.S3: self.on_object_created,
            EventKind.SCHEDULE: self.on_schedule,
            EventKind.AGGREGATE: self.on_aggregate,
            EventKind.TRANSFER: self.on_transfer,
            EventKind.STORAGE: self.on_storage_finalized,
            EventKind.PUBSUB: self.on_pubsub,
            EventKind.ARCHIVE: self.on_archive,
        }

    # -- backends ---------------------------------------------------------------------------------------------

    @property
    def warehouse(self) -> ColumnarWarehouse:
        if self._warehouse is None:
            gone = emulator_warehouse_gone(self.home.root)
            if gone:
                raise PermanentError(gone)
            from wattline.warehouse import init_warehouse
            from wattline.warehouse.duckdb import DuckDBWarehouse
            from wattline.warehouse.settings import WarehouseSettings

            self.home.root.mkdir(parents=True, exist_ok=True)
            settings = WarehouseSettings.model_validate(
                {**self.settings.model_dump(), "fs_root": self.gcs_fs_root, "bucket": GCS_BUCKET}
            )
            warehouse = DuckDBWarehouse(
                self.home.warehouse,
                timezone=self.settings.timezone,
                tariff=_tariff_name(self.settings.tariff),
                fs_root=self.gcs_fs_root,
                bucket=GCS_BUCKET,
                extra_tariffs=[_tariff(self.settings.tariff)],
                read_only=self.read_only,
                # The stages' batch queries (detection's read of the daily files) on one thread: the least CPU and
                # ~30 MB less at the run's peak; a reader's interactive queries keep every core.
                threads=None if self.read_only else 1,
            )
            if not self.read_only:
                init_warehouse(warehouse, settings)
            self._warehouse = warehouse
        return self._warehouse

    def lock(self, *, wait: bool = False) -> Runtime:
        """Become the home's one writer (wattline.local.lock); every writing command takes it before it writes."""
        self.home_lock.acquire(wait=wait)
        return self

    def close_warehouse(self) -> None:
        """Let go of the DuckDB file (one process may hold it for writing): readers can open it until next use."""
        closer = getattr(self._warehouse, "close", None)
        if closer is not None:
            closer()
        self._warehouse = None

    def close(self) -> None:
        self.close_warehouse()
        while self.closers:
            self.closers.pop()()
        self.home_lock.release()

    @property
    def thresholds(self) -> Thresholds:
        if self._thresholds is None:
            from wattline.alerts.thresholds import Thresholds

            self._thresholds = Thresholds(rated_max_power_w=self.settings.rated_max_power_w)
        return self._thresholds

    # -- triggers ---------------------------------------------------------------------------------------------

    def schedule(self, now: datetime | None = None) -> Event:
        """The daily schedule fires (EventBridge Scheduler → Step Functions)."""
        return self.queue.put(EventKind.SCHEDULE, {"now": (now or self.clock()).isoformat()})

    def pending_raw_days(self, now: datetime | None = None) -> list[dict[str, str]]:
        return [item.as_dict() for item in self._plan(now or self.clock())]

    def _plan(self, now: datetime) -> builtins.list[DayItem]:
        """The cloud plan with the deployed grace, looking back far enough to reach the oldest raw partition
        (backfills can be old; the cloud plan looks back `lookback_days`)."""
        from wattline.aggregation import plan_days

        options = self.aggregation_settings()
        lookback = raw_lookback_days(self.s3.list_prefixes(keys.RAW_PREFIX), now, minimum=options.lookback_days)
        return plan_days(self.s3, now, grace=options.grace, lookback_days=lookback)

    # -- handlers (thin: parse the cloud-shaped event, call one domain function) ------------------------------

    def on_object_created(self, event: dict[str, Any], report: RunReport) -> None:
        from wattline.aggregation import validate_object

        for key in s3_event_keys(event):
            if not key.startswith(keys.RAW_PREFIX):
                continue
            try:
                validate_object(self.s3, key, keep=self.validated_objects().keep)
            except NotFoundError:
                logger.warning("raw object %s is gone; nothing to validate", key)

    def on_schedule(self, event: dict[str, Any], report: RunReport) -> None:
        for item in self._plan(datetime.fromisoformat(str(event["now"]))):
            self.queue.put(EventKind.AGGREGATE, item.as_dict())
        self.queue.put(EventKind.TRANSFER, {"prefix": keys.DAILY_PREFIX, "now": str(event["now"])})
        if self.archive_settings().archive_on_schedule:  # the archiver's own daily schedule, after the aggregation
            self.queue.put(EventKind.ARCHIVE, {"now": str(event["now"])})

    def on_aggregate(self, event: dict[str, Any], report: RunReport) -> None:
        from wattline.aggregation import aggregate_day

        options = self.aggregation_settings()
        # The loader runs here too (unless remote functions load): it takes the day's columns, not its bytes.
        files = self.daily_files() if self.deliver_copied is None else None
        aggregate_day(
            self.s3,
            date.fromisoformat(str(event["date"])),
            str(event["device_id"]),
            concurrency=options.concurrency,
            dedup_window_ms=options.dedup_window_ms,
            hand_over=files.hand_over if files is not None and files.has_room() else None,
            validated=self.validated_objects().take,
        )

    def on_transfer(self, event: dict[str, Any], report: RunReport) -> None:
        """Copy new or changed daily files; the GCS bucket itself notifies the loader of each (as it is written)."""
        from wattline.transfer import sync

        copied = sync(self.s3.inner, self.gcs, str(event.get("prefix", keys.DAILY_PREFIX)))
        for refusal in copied.refused:  # `wattline status` counts it as aggregated but not transferred
            logger.warning("daily file not transferred: %s", getattr(refusal, "reason", refusal))
        if self.deliver_copied is not None:
            self.deliver_copied(copied)

    def on_archive(self, event: dict[str, Any], report: RunReport) -> None:
        from wattline.archive_stage import ArchiveRequest

        for result in self.archive(ArchiveRequest.model_validate(event)):
            logger.info("archive %s %s: %s %s", result.device_id, result.date, result.status.value, result.detail)

    # -- the archive stage (wattline.stages: the same composition as the archiver Lambda) ---------------------

    def archive_settings(self) -> ArchiveSettings:
        """The archiver's settings for this home; a directory bucket has no storage classes, so bundles are written
        (and their index says) STANDARD; a home on moto (the emulator stack) keeps the configured class."""
        from wattline.archive import ObjectStoreBundles
        from wattline.archive_stage import ArchiveSettings

        local: dict[str, Any] = {}
        if isinstance(self.bundles(), ObjectStoreBundles):
            local["archive_storage_class"] = "STANDARD"
        return self.stage_settings(ArchiveSettings, **local)

    def bundles(self) -> BundleStore:
        """Where bundles go: S3 with storage classes when the home's raw bucket is S3, else the bucket itself."""
        from wattline.adapters.s3_store import S3ObjectStore
        from wattline.archive import ObjectStoreBundles

        if isinstance(self.s3.inner, S3ObjectStore):
            from wattline.adapters.s3_bundles import S3BundleStore

            return S3BundleStore(self.s3.inner.client, self.s3.inner.name)
        return ObjectStoreBundles(self.s3)

    def archive(self, request: ArchiveRequest) -> builtins.list[ArchiveResult]:
        """Archive the home's due raw days (the request's `now` defaults to the runtime's clock)."""
        from wattline.archive_stage import run_archive

        if request.now is None:
            request = request.model_copy(update={"now": self.clock()})
        return run_archive(self.s3, self.bundles(), self.archive_settings(), request)

    def restore(self, device_ids: builtins.list[str], first: date, last: date) -> builtins.list[RestoreResult]:
        """Put archived device-days back under raw/ (each write queues its validate event, as S3 would) and mark
        them for re-aggregation: the next `wattline run` rebuilds their daily files."""
        from wattline.archive_stage import run_restore

        return run_restore(self.s3, self.bundles(), self.archive_settings(), device_ids, first, last)

    def restore_status(self, device_ids: builtins.list[str], first: date, last: date) -> builtins.list[RestoreStatus]:
        from wattline.archive_stage import restore_statuses

        return restore_statuses(self.s3, self.bundles(), device_ids, first, last)

    def on_storage_finalized(self, event: dict[str, Any], report: RunReport) -> None:
        from wattline.loader import FinalizedObject, load_daily_file

        attributes, data = event["attributes"], event["data"]
        if attributes.get("type") != "google.cloud.storage.object.v1.finalized":
            return
        load_daily_file(
            FinalizedObject.from_cloud_event(attributes, data),
            store=self.gcs,
            warehouse=self.warehouse,
            publisher=self.publisher,
            options=self.loader_options(),
            files=self.daily_files(),
        )

    def validated_objects(self) -> ValidatedObjects:
        """What this run's validations parsed, until its aggregations take it (`ValidatedObjects`)."""
        if self._validated is None:
            self._validated = ValidatedObjects(VALIDATED_BYTES)
        return self._validated

    def daily_files(self) -> ParsedFiles:
        """The daily files' columns the aggregations hand over and the loads parse, for the loads that follow (the
        same process runs both stages here; each Cloud Function keeps nothing)."""
        from wattline.loader import ParsedFiles

        if self._daily_files is None:
            self._daily_files = ParsedFiles(handed_bytes=HANDED_OVER_BYTES)
        return self._daily_files

    def on_pubsub(self, event: dict[str, Any], report: RunReport) -> None:
        topic = str(event["topic"])
        data = base64.b64decode(event["message"]["data"])
        if topic == ENERGY_TOPIC and self.detect_url is not None:
            self._detect_remote(self.detect_url, self._coalesce(data), event["message"])
        elif topic == ENERGY_TOPIC:
            self._detect(self._coalesce(data), report)
        elif topic == ALERTS_TOPIC:
            self._notify(data, event["message"])
        elif topic == DEAD_LETTER_TOPIC:  # kept where `wattline status` shows it and `wattline retry` re-drives it
            attributes = event["message"].get("attributes") or {}
            raise PermanentError(f"notification dead-lettered by {attributes.get('sink')}: {attributes.get('reason')}")

    def _coalesce(self, data: bytes) -> bytes:
        """Fold every other pending energy.updated message into this one: one detection run over the union of
        the touched hours sees exactly what the separate runs would (detection always covers every device, and
        the alert ledger dedups), at a fraction of the cost. The folded events are acknowledged only once this
        event's handler succeeded: a crash before leaves them pending, and the next run detects again."""
        try:
            body = json.loads(data)
        except ValueError:
            return data
        if not isinstance(body, dict) or not body.get("hours_from"):
            return data
        for other in self.queue.pending():
            if other.kind is not EventKind.PUBSUB or other.body.get("topic") != ENERGY_TOPIC:
                continue
            try:
                more = json.loads(base64.b64decode(other.body["message"]["data"]))
            except (ValueError, KeyError):
                continue
            if not isinstance(more, dict) or not more.get("hours_from") or not more.get("hours_to"):
                continue
            body["hours_from"] = min(str(body["hours_from"]), str(more["hours_from"]))
            body["hours_to"] = max(str(body.get("hours_to") or more["hours_to"]), str(more["hours_to"]))
            body["device_id"] = None
            self._acks.append(other)
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    def _detect(self, data: bytes, report: RunReport) -> None:
        from wattline.alerts.pipeline import DetectRequest, run_detect
        from wattline.alerts.store import WarehouseAlertStore, WarehouseReadings

        options = self.alert_settings().detect_options()
        if self._thresholds is not None:
            options = replace(options, thresholds=self._thresholds)
        result = run_detect(
            DetectRequest.from_message(data),
            source=WarehouseReadings(self.warehouse),
            store=WarehouseAlertStore(self.warehouse),
            publisher=self.publisher,
            options=replace(options, topic=ALERTS_TOPIC),
            now=self.clock(),
        )
        report.alerts_published += len(result.published)

    def stage_settings(
        self, model: type[StageSettings], defaults: Mapping[str, Any] | None = None, **local: Any
    ) -> StageSettings:
        """A cloud stage's settings model for this home: `defaults` (a home's own defaults), its wattline.toml and
        settings, then WATTLINE_* variables (they win, as deployed), then `local` (what only the home can say: its
        own buckets and warehouse)."""
        from_env = model(**local)
        values: dict[str, Any] = {
            **(defaults or {}),
            **load_toml_overrides(self.home.root),
            **self.settings.model_dump(),
        }
        values.update({name: getattr(from_env, name) for name in from_env.model_fields_set})
        return model.model_validate({**values, **local})

    def alert_settings(self) -> AlertSettings:
        """The detect function's and the subscribers' settings (wattline.alerts.settings.AlertSettings)."""
        from wattline.alerts.settings import AlertSettings

        # Nothing else watches for silence now on a home: know the data up to the site's newest reading.
        defaults = {"alerts_watermark": "newest_reading"}
        return self.stage_settings(AlertSettings, defaults, warehouse="duckdb", publisher="outbox")

    def aggregation_settings(self) -> AggregationSettings:
        from wattline.stages import AggregationSettings

        return self.stage_settings(AggregationSettings)

    def loader_options(self) -> LoaderOptions:
        from wattline.stages import LoaderSettings

        local: dict[str, Any] = {
            "storage": "fs",
            "warehouse": "duckdb",
            "publisher": "outbox",
            "fs_root": self.gcs_fs_root,
        }
        return replace(self.stage_settings(LoaderSettings, **local).options(), topic=ENERGY_TOPIC)

    def _detect_remote(self, url: str, data: bytes, message: Mapping[str, Any]) -> None:
        """Deliver energy.updated to the detect function as Eventarc would; a non-2xx answer is retried."""
        import requests

        from wattline.errors import TransientError
        from wattline.local.events import post_cloud_event, published_event

        message_id = str(message.get("messageId") or uuid.uuid4().hex)
        attributes, body = published_event(
            EMULATOR_PROJECT, ENERGY_TOPIC, data, message.get("attributes"), message_id=message_id
        )
        try:
            status = post_cloud_event(url, attributes, body)
        except requests.RequestException as exc:
            raise TransientError(f"the detect function at {url} did not answer: {exc}") from exc
        if not 200 <= status < 300:
            raise TransientError(f"the detect function answered {status} (its log is in emulators/logs/)")

    def _notify(self, data: bytes, message: Mapping[str, Any]) -> None:
        """The subscriber as deployed (wattline.alerts.subscriber): policy and dead-lettering from AlertSettings,
        the home's outbox as the sink."""
        from wattline.alerts.sinks import OutboxSink
        from wattline.alerts.store import WarehouseDeliveryLog
        from wattline.alerts.subscriber import handle_message

        settings = self.alert_settings()
        handle_message(
            data,
            message.get("attributes") or {},
            sink=OutboxSink(self.home.outbox / "alerts.jsonl", self.settings.zone),
            log=WarehouseDeliveryLog(self.warehouse),
            policy=settings.policy(),
            now=self.clock(),
            dead_letter=self.publisher,
            dead_letter_topic=DEAD_LETTER_TOPIC,
            message_id=str(message.get("messageId") or ""),
        )

    # -- the loop ---------------------------------------------------------------------------------------------

    def run(self, *, on_event: Callable[[Event], None] | None = None, limit: int | None = None) -> RunReport:
        """Handle every pending event (and what they cause) until the queue is empty (as the home's writer)."""
        self.lock()
        report = RunReport()
        handled = 0
        while (event := self.queue.next()) is not None or (self.inbound is not None and self.inbound() > 0):
            if event is None:
                continue  # the inbound pull queued new events
            if limit is not None and handled >= limit:
                break
            handled += 1
            self._dispatch(event, report)
            if on_event is not None:
                on_event(event)
        self._validated = None  # (what arrives after this run is aggregated by a later one: from the objects)
        return report

    def _dispatch(self, event: Event, report: RunReport) -> None:
        handler = self.handlers[event.kind]
        if event.kind not in _DAILY_FILE_STAGES:
            # The files aggregated or parsed last help only the loads right after them (consecutive days): let
            # them go before any other stage runs (detection's DuckDB read would peak with them).
            self._daily_files = None
        if event.kind not in _VALIDATED_STAGES:
            self._validated = None
        if event.kind is EventKind.STORAGE and event.attempts == 0:
            # Eventarc delivers within seconds of the write; a queued event that waited while nothing ran (the
            # machine was off) is delivered now, so the loader's maximum event age counts from here.
            event.body["attributes"]["time"] = datetime.now(UTC).isoformat()
        event.attempts += 1
        self._acks = []
        try:
            handler(event.body, report)
        except PermanentError as exc:
            event.errors.append(f"{type(exc).__name__}: {exc}")
            logger.error("event %s failed permanently: %s", event.id, exc)
            self.queue.park(event)
            report.dead += 1
            return
        except Exception as exc:
            event.errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
            if event.attempts >= self.max_attempts:
                logger.error("event %s failed %d times; dead-lettered: %s", event.id, event.attempts, exc)
                self.queue.park(event)
                report.dead += 1
            else:
                report.retried += 1
                self.queue.retry_later(event)
            return
        for settled in self._acks:
            self.queue.done(settled)
        self._acks = []
        self.queue.done(event)
        report.count(event.kind)


def raw_lookback_days(day_prefixes: builtins.list[str], now: datetime, minimum: int = 7) -> int:
    """How far back the local schedule plans: far enough to reach the oldest raw partition (backfills can be old;
    the cloud plan looks back a fixed week)."""
    oldest: date | None = None
    for prefix in day_prefixes:
        text = prefix.removeprefix(keys.RAW_PREFIX).removeprefix("dt=").rstrip("/")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        oldest = day if oldest is None or day < oldest else oldest
    if oldest is None:
        return minimum
    return max(minimum, (now.astimezone(UTC).date() - oldest).days + 2)


def _tariff(spec: str) -> Any:
    from wattline.tariffs import load_tariff

    return load_tariff(spec)


def _tariff_name(spec: str) -> str:
    return str(_tariff(spec).name)


def daily_ticks(start: datetime, end: datetime) -> builtins.list[datetime]:
    """When the daily schedule fires for the UTC days of [start, end): each day's end plus the plan's grace."""
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    days = (last - first).days + 1
    return [datetime.combine(first + timedelta(days=n + 1), time_of_day(3), UTC) for n in range(days)]


def simulated_now(end: datetime) -> datetime:
    """A schedule time at which every simulated UTC day is closed (day end + the plan's grace)."""
    return end + timedelta(days=1, hours=3)


def store_for(home: Path, bucket: str) -> ObjectStore:
    """A plain (non-notifying) view of one local bucket, for tools that only read."""
    root = Home(home).s3_root if bucket == RAW_BUCKET else Home(home).gcs_root
    return FsObjectStore(root / bucket, name=bucket)


def emulator_warehouse_gone(home: Path) -> str | None:
    """Why a home made by `wattline demo --stack emulators` has no warehouse to read any more; None otherwise."""
    try:
        state = json.loads(Home(home).demo_state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("stack") != "emulators":
        return None
    return (
        f"{home} was made by `wattline demo --stack emulators`: its warehouse was BigQuery on bqemulator and its "
        "buckets moto and fake-gcs-server, all in the servers' memory and stopped with the demo. The dashboard "
        f"the demo rendered while they ran is {Home(home).report}, `wattline status` shows the ledger it saved, "
        f"and `wattline analyze {Home(home).capture}` recomputes the energy; run `wattline demo` (embedded) in this "
        "home for a warehouse that stays"
    )


def require_home(home: Path) -> Home:
    if not home.is_dir():
        raise PermanentError(f"no wattline home at {home}: run `wattline demo` or `wattline import` first")
    return Home(home)
