"""The ledger of one local home: where every MQTT message went, and what work is pending or dead-lettered.

Counts are in MQTT messages (envelopes), from the aggregator's manifests and state: for every aggregated
device-day `received = kept + quarantined + duplicates`; messages under the `_invalid` device partition (a topic
naming no safe device id) are quarantined as a whole. Raw objects of days not aggregated yet are pending.

"Balanced" means the counts add up **and** nothing is stuck: no event pending (a run was interrupted or has not
happened), none dead-lettered, no daily file transferred but not loaded. Every object write queues its event first
(wattline.local.runtime.NotifyingStore), so a file in the GCS bucket without a pending or dead load event was loaded.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wattline import keys
from wattline.models import DailyManifest
from wattline.ports import ObjectStore
from wattline.transfer import holds


@dataclass
class DeadLetter:
    id: str
    kind: str
    attempts: int
    error: str


@dataclass
class Ledger:
    received: int = 0
    kept: int = 0
    quarantined: int = 0
    duplicates: int = 0
    readings: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    days_aggregated: int = 0
    days_loaded: int = 0
    pending_events: dict[str, int] = field(default_factory=dict)
    pending_days: list[str] = field(default_factory=list)
    raw_objects: int = 0
    in_flight: int = 0  # pending events already tried (a run was killed in them, or they wait for a retry)
    aggregated_not_transferred: list[str] = field(default_factory=list)  # daily files GCS lacks, or holds older
    transferred_not_loaded: list[str] = field(default_factory=list)  # daily files whose load is pending or dead
    dead_letters: list[DeadLetter] = field(default_factory=list)
    note: str | None = None  # e.g. "recorded when the emulators demo finished": not read from the buckets now

    @property
    def counts_add_up(self) -> bool:
        return self.received == self.kept + self.quarantined + self.duplicates

    @property
    def stuck(self) -> list[str]:
        """What keeps the home from balanced although the counts add up, each with what to do."""
        reasons = []
        if self.pending_events:
            pending = sum(self.pending_events.values())
            reasons.append(f"{pending} events pending ({self.in_flight} in flight): run `wattline run`")
        if self.dead_letters:
            reasons.append(f"{len(self.dead_letters)} dead letters: see below, then `wattline retry`")
        if self.aggregated_not_transferred:
            reasons.append(f"{len(self.aggregated_not_transferred)} daily files aggregated but not transferred")
        if self.transferred_not_loaded:
            reasons.append(f"{len(self.transferred_not_loaded)} daily files transferred but not loaded")
        return reasons

    @property
    def balanced(self) -> bool:
        return self.counts_add_up and not self.stuck

    @property
    def pending(self) -> bool:
        return bool(self.pending_events) or bool(self.pending_days)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["balanced"] = self.balanced
        data["counts_add_up"] = self.counts_add_up
        data["stuck"] = self.stuck
        return data


def _count_lines(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


def compute_ledger(
    s3: ObjectStore,
    gcs: ObjectStore,
    *,
    pending_events: dict[str, int],
    pending_storage: set[str],
    dead_letters: list[DeadLetter],
    now: datetime,
    in_flight: int = 0,
) -> Ledger:
    """The ledger from the buckets (see the module docstring); `now` decides which days the schedule would plan."""
    from wattline.aggregation import INVALID_DEVICE_SEGMENT, STATE_PREFIX, plan_days

    ledger = Ledger(pending_events=dict(pending_events), dead_letters=dead_letters, in_flight=in_flight)
    reasons: Counter[str] = Counter()
    for key in _keys(s3, keys.DAILY_PREFIX):
        if not key.endswith(keys.MANIFEST_FILE):
            continue
        manifest = DailyManifest.model_validate_json(s3.get(key))
        readings_key = key.removesuffix(keys.MANIFEST_FILE) + keys.READINGS_FILE
        if not holds(gcs.head(readings_key), s3.get(readings_key)):  # the transfer's own rule
            ledger.aggregated_not_transferred.append(readings_key)
        ledger.received += manifest.envelopes
        ledger.duplicates += manifest.duplicates
        ledger.quarantined += manifest.quarantined
        ledger.readings += manifest.readings
        ledger.days_aggregated += 1
    for key in _keys(s3, STATE_PREFIX):
        state = json.loads(gzip.decompress(s3.get(key)))
        reasons.update({str(reason): int(count) for reason, count in state.get("reasons", {}).items()})
    for key in _keys(s3, keys.RAW_PREFIX):
        ledger.raw_objects += 1
        parsed = keys.parse_raw_key(key)
        if parsed is not None and parsed[1] == INVALID_DEVICE_SEGMENT:
            lines = _count_lines(s3.get(key))
            ledger.received += lines
            ledger.quarantined += lines
            reasons["bad_device_id"] += lines
    ledger.kept = ledger.received - ledger.quarantined - ledger.duplicates
    ledger.quarantine_reasons = dict(sorted(reasons.items()))
    for key in _keys(gcs, keys.DAILY_PREFIX):
        parsed = keys.parse_daily_key(key)
        if parsed is None or parsed[2] != keys.READINGS_FILE:
            continue
        if key in pending_storage:
            ledger.transferred_not_loaded.append(key)
        else:
            ledger.days_loaded += 1
    from wattline.local.runtime import raw_lookback_days

    lookback = raw_lookback_days(_prefixes(s3, keys.RAW_PREFIX), now)
    planned = plan_days(s3, now, lookback_days=lookback)
    open_days = _unaggregated(s3)
    ledger.pending_days = sorted({f"{item.date.isoformat()}/{item.device_id}" for item in planned} | open_days)
    return ledger


def _keys(store: ObjectStore, prefix: str) -> list[str]:
    lister = getattr(store, "list_keys", None)
    if lister is not None:
        return list(lister(prefix))
    return [info.key for info in store.list(prefix)]


def _prefixes(store: ObjectStore, prefix: str) -> list[str]:
    lister = getattr(store, "list_prefixes", None)
    return list(lister(prefix)) if lister is not None else []


def _unaggregated(s3: ObjectStore) -> set[str]:
    """Raw device-days with no manifest yet (closed or not)."""
    from wattline.aggregation import INVALID_DEVICE_SEGMENT

    found: set[str] = set()
    for day_prefix in _prefixes(s3, keys.RAW_PREFIX):
        for device_prefix in _prefixes(s3, day_prefix):
            day_text = day_prefix.removeprefix(keys.RAW_PREFIX).removeprefix("dt=").rstrip("/")
            device = device_prefix.removeprefix(day_prefix).removeprefix("device=").rstrip("/")
            if device == INVALID_DEVICE_SEGMENT:
                continue
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                continue
            if s3.head(keys.daily_manifest_key(day, device)) is None:
                found.add(f"{day.isoformat()}/{device}")
    return found


def queue_ledger(queue: Any, s3: ObjectStore, gcs: ObjectStore, now: datetime) -> Ledger:
    """The ledger of a runtime's queue and buckets (whatever stores they are)."""
    from wattline.local.runtime import EventKind

    pending = queue.pending()
    dead_events = queue.dead()
    counts = Counter(event.kind.value for event in pending)
    storage = {
        str(event.body.get("data", {}).get("name"))
        for event in [*pending, *dead_events]
        if event.kind is EventKind.STORAGE
    }
    dead = [
        DeadLetter(
            event.id, event.kind.value, event.attempts, (event.errors[-1] if event.errors else "").split("\n")[0]
        )
        for event in dead_events
    ]
    return compute_ledger(
        s3,
        gcs,
        pending_events=dict(counts),
        pending_storage=storage,
        dead_letters=dead,
        now=now,
        in_flight=sum(1 for event in pending if event.attempts > 0),
    )


EMULATOR_LEDGER = "emulators/ledger.json"


def save_ledger(home: Path, ledger: Ledger) -> Path:
    """Keep the ledger of an emulators demo: its raw bucket lived in moto's memory and is gone after the demo."""
    path = home / EMULATOR_LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ledger.as_dict(), indent=2, default=str), encoding="utf-8")
    return path


def saved_ledger(home: Path) -> Ledger | None:
    """The ledger an emulators demo saved, marked as such; None for any other home."""
    path = home / EMULATOR_LEDGER
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    for derived in ("balanced", "counts_add_up", "stuck"):
        data.pop(derived, None)
    data["dead_letters"] = [DeadLetter(**letter) for letter in data.get("dead_letters", [])]
    ledger = Ledger(**data)
    ledger.note = (
        f"recorded when `wattline demo --stack emulators` finished ({path}): its buckets were moto (S3, in memory) "
        "and fake-gcs-server, stopped with the demo, so nothing newer can be read"
    )
    return ledger


def home_ledger(home: Path, now: datetime) -> Ledger:
    """The ledger of a home directory with the embedded buckets, read-only (nothing is started or written); for
    a home an emulators demo made, the ledger it saved while its servers ran."""
    from wattline.local.runtime import GCS_BUCKET, RAW_BUCKET, EventQueue, Home, store_for

    saved = saved_ledger(home)
    if saved is not None:
        return saved
    return queue_ledger(EventQueue(Home(home)), store_for(home, RAW_BUCKET), store_for(home, GCS_BUCKET), now)
