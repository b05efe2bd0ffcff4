"""Aggregate one device-day: read, deduplicate, parse, sort and write the daily file, its state and manifest."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from wattline import PARSER_VERSION, keys
from wattline.aggregation.common import (
    DEFAULT_DEDUP_WINDOW_MS,
    INVALID_DEVICE_SEGMENT,
    aggregation_state_key,
    list_keys,
    reference_now_ms,
)
from wattline.aggregation.dedup import RawEnvelope, dedup, split_object
from wattline.errors import NotFoundError, PermanentError
from wattline.formats.readings import daily_file_bytes, reading_lines, ts_text
from wattline.models import DailyManifest, QuarantineRecord, Reading, readings_from_file
from wattline.parsing import Row, parse_line, parse_message, row_from_reading
from wattline.parsing.gc import paused_gc
from wattline.ports import ObjectInfo, ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class DayCounts:
    """Envelope counts of one device-day; `envelopes == kept + quarantined + duplicates` always."""

    envelopes: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.envelopes - self.duplicates - self.quarantined

    def add_quarantine(self, record: QuarantineRecord) -> None:
        self.quarantined += 1
        self.reasons[record.reason.value] = self.reasons.get(record.reason.value, 0) + 1

    def merged(self, other: DayCounts) -> DayCounts:
        reasons = dict(self.reasons)
        for reason, count in other.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
        return DayCounts(
            self.envelopes + other.envelopes,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
            dict(sorted(reasons.items())),
        )


@dataclass(frozen=True)
class AggregateResult:
    """What `aggregate_day` did. `mode`: full (rebuilt from raw), merge (late data into an archived day), empty."""

    device_id: str
    date: date
    mode: str
    counts: DayCounts
    readings: int
    source_objects: int
    manifest: DailyManifest | None
    dirty_cleared: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "date": self.date.isoformat(),
            "mode": self.mode,
            "envelopes": self.counts.envelopes,
            "kept": self.counts.kept,
            "duplicates": self.counts.duplicates,
            "quarantined": self.counts.quarantined,
            "reasons": dict(self.counts.reasons),
            "readings": self.readings,
            "source_objects": self.source_objects,
            "sha256": self.manifest.sha256 if self.manifest else None,
            "dirty_cleared": self.dirty_cleared,
        }


@dataclass(frozen=True)
class _State:
    readings_sha256: str
    counts: DayCounts
    sources: tuple[str, ...]

    def to_bytes(self, day: date, device_id: str) -> bytes:
        body = {
            "version": 1,
            "date": day.isoformat(),
            "device_id": device_id,
            "readings_sha256": self.readings_sha256,
            "envelopes": self.counts.envelopes,
            "duplicates": self.counts.duplicates,
            "quarantined": self.counts.quarantined,
            "reasons": self.counts.reasons,
            "sources": list(self.sources),
        }
        text = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return gzip.compress(text, compresslevel=6, mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> _State:
        body = json.loads(gzip.decompress(data))
        counts = DayCounts(
            int(body["envelopes"]), int(body["duplicates"]), int(body["quarantined"]), dict(body["reasons"])
        )
        return cls(str(body["readings_sha256"]), counts, tuple(str(key) for key in body["sources"]))


def aggregate_day(
    store: ObjectStore,
    day: date,
    device_id: str,
    *,
    concurrency: int = 8,
    dedup_window_ms: int = DEFAULT_DEDUP_WINDOW_MS,
) -> AggregateResult:
    """Build `daily/dt=<day>/device=<id>/readings.jsonl.gz` + `manifest.json` from the device-day's raw objects.

    Reads every raw object of the partition (listing paginated, reads on a pool of `concurrency` threads), drops
    redeliveries (`dedup`), parses each message (no reading depends on another message, so order does not matter),
    sorts readings by (ts, channel, received_ms, line) and writes the gzip file with mtime 0: the same raw objects
    always give a byte-identical file. Writes, in order: readings, the aggregation state, the manifest (the commit
    point the archiver waits for); then clears the dirty marker if no newer late data marked it meanwhile.

    If the aggregation state names raw objects that are gone (the archiver moved them after the last run), the new
    raw objects are merged into the existing daily file instead of rebuilding it from what is left.
    """
    if not keys.is_safe_device_id(device_id) or device_id == INVALID_DEVICE_SEGMENT:
        raise PermanentError(f"device id {device_id!r} is not aggregatable")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    dirty_marker = store.head(keys.dirty_key(day, device_id))
    present = list_keys(store, keys.raw_prefix(day, device_id))
    state = _load_state(store, day, device_id)

    previous_readings: list[Reading] = []
    previous_counts = DayCounts()
    mode = "full"
    to_read = present
    sources: tuple[str, ...] = tuple(present)
    if state is not None and not set(state.sources).issubset(present):
        mode = "merge"
        known = set(state.sources)
        to_read = [key for key in present if key not in known]
        previous_counts = state.counts
        previous_readings = _load_readings(store, day, device_id)
        sources = tuple(sorted(known.union(present)))

    if not sources:
        cleared = _clear_dirty(store, day, device_id, dirty_marker)
        return AggregateResult(device_id, day, "empty", DayCounts(), 0, 0, None, cleared)

    with paused_gc():  # the day's rows, lines and items: millions of acyclic objects (see `paused_gc`)
        rows = [row_from_reading(reading) for reading in previous_readings]
        counts = _aggregate_objects(
            store, day, device_id, to_read, rows, concurrency=concurrency, window_ms=dedup_window_ms
        )
        counts = previous_counts.merged(counts)
        lines = _canonical(_items(rows))
        data = daily_file_bytes([line for _ts, line in lines])
    sha256 = hashlib.sha256(data).hexdigest()
    manifest = DailyManifest(
        device_id=device_id,
        date=day.isoformat(),
        readings=len(lines),
        envelopes=counts.envelopes,
        duplicates=counts.duplicates,
        quarantined=counts.quarantined,
        source_objects=len(sources),
        first_ts=lines[0][0] if lines else None,
        last_ts=lines[-1][0] if lines else None,
        sha256=sha256,
        bytes=len(data),
        parser_version=PARSER_VERSION,
    )
    store.put(keys.daily_readings_key(day, device_id), data, content_type="application/gzip")
    store.put(
        aggregation_state_key(day, device_id),
        _State(sha256, counts, sources).to_bytes(day, device_id),
        content_type="application/gzip",
    )
    store.put(keys.daily_manifest_key(day, device_id), manifest.to_bytes(), content_type="application/json")
    cleared = _clear_dirty(store, day, device_id, dirty_marker)
    return AggregateResult(device_id, day, mode, counts, len(lines), len(sources), manifest, cleared)


def _aggregate_objects(
    store: ObjectStore,
    day: date,
    device_id: str,
    object_keys: Sequence[str],
    rows: list[Row],
    *,
    concurrency: int,
    window_ms: int,
) -> DayCounts:
    """Reads, frames, deduplicates and parses the objects; appends one row per reading to `rows`. A message
    whose readings name another device than the partition's `device_id` is quarantined (device_mismatch)."""
    counts = DayCounts()
    envelopes: list[RawEnvelope] = []
    now_ms = reference_now_ms(day)
    for key, data in zip(object_keys, read_objects(store, object_keys, concurrency=concurrency), strict=True):
        decoded, malformed = split_object(data, key)
        envelopes.extend(decoded)
        for line in malformed:
            outcome = parse_line(line, source_key=key, now_ms=now_ms, device_id=device_id)
            counts.envelopes += 1
            if outcome.quarantined is not None:
                counts.add_quarantine(outcome.quarantined)
            else:  # framing the parser accepts but `split_object` does not: keep it, undeduplicated
                rows.extend(row_from_reading(reading) for reading in outcome.readings)
    counts.envelopes += len(envelopes)
    kept, counts.duplicates = dedup(envelopes, window_ms)
    for envelope in kept:
        parsed = parse_message(
            envelope.topic,
            envelope.received_ms,
            envelope.payload,
            envelope.payload_b64,
            now_ms=now_ms,
            device_id=device_id,
        )
        if isinstance(parsed, QuarantineRecord):
            counts.add_quarantine(parsed)
        else:
            rows.extend(parsed)
    counts.reasons = dict(sorted(counts.reasons.items()))
    return counts


def read_objects(store: ObjectStore, object_keys: Sequence[str], *, concurrency: int = 8) -> Iterator[bytes]:
    """The objects' bytes in the order of `object_keys`, fetched by up to `concurrency` threads."""
    if concurrency == 1 or len(object_keys) <= 1:
        return (store.get(key) for key in object_keys)
    with ThreadPoolExecutor(max_workers=min(concurrency, len(object_keys))) as pool:
        return iter(list(pool.map(store.get, object_keys)))


_Item = tuple[int, int, int, str, int, str, Row]
"""One reading on its way into the daily file: (ts in µs since the epoch, channel or -1, received_ms, JSON line,
sequence number, formatted ts, the row). Sorting the tuples sorts the file; the sequence number keeps the sort
stable and never lets it compare the last element."""


def _items(rows: Sequence[Row]) -> list[_Item]:
    """One `_Item` per row, the sequence number its index; the lines written together (`reading_lines`)."""
    if not rows:
        return []
    device_ids, channels, times_us, received, generations, values = zip(*rows, strict=True)
    texts = list(map(ts_text, times_us))
    names = {generation: generation.value for generation in set(generations)}
    lines = reading_lines(device_ids, channels, texts, received, [names[g] for g in generations], values)
    return [
        (ts_us, -1 if channel is None else channel, received_ms, line, seq, text, row)
        for seq, (ts_us, channel, received_ms, line, text, row) in enumerate(
            zip(times_us, channels, received, lines, texts, rows, strict=True)
        )
    ]


def _same_observation(a: Row, b: Row) -> bool:
    """Equal in everything but received_ms (Reading.dedup_key): an MQTT QoS 1 redelivery of the same reading."""
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[4] == b[4] and a[5] == b[5]


def canonical_lines(readings: Iterable[Reading]) -> list[tuple[str, str]]:
    """(formatted ts, JSON line) per distinct reading, in file order: (ts, channel, received_ms, line).

    Lines are exactly `Reading.to_json_line()`. Readings equal in everything but `received_ms` are the same
    observation (Reading.dedup_key): the first received is kept.
    """
    return _canonical(_items([row_from_reading(reading) for reading in readings]))


def _canonical(items: list[_Item]) -> list[tuple[str, str]]:
    """`canonical_lines` over items (sorted in place)."""
    items.sort()
    result: list[tuple[str, str]] = []
    group_start = 0
    previous: tuple[int, int] | None = None
    for index, item in enumerate(items):
        if (item[0], item[1]) != previous:
            group_start, previous = index, (item[0], item[1])
        elif any(_same_observation(items[other][6], item[6]) for other in range(group_start, index)):
            continue
        result.append((item[5], item[3]))
    return result


def _load_state(store: ObjectStore, day: date, device_id: str) -> _State | None:
    try:
        data = store.get(aggregation_state_key(day, device_id))
    except NotFoundError:
        return None
    try:
        return _State.from_bytes(data)
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:
        logger.warning("ignoring an unreadable aggregation state for %s %s: %s", device_id, day, exc)
        return None


def _load_readings(store: ObjectStore, day: date, device_id: str) -> list[Reading]:
    try:
        data = store.get(keys.daily_readings_key(day, device_id))
    except NotFoundError:
        return []
    return list(readings_from_file(data))


def _clear_dirty(store: ObjectStore, day: date, device_id: str, seen: ObjectInfo | None) -> bool:
    """Delete the dirty marker seen at the start, unless late data rewrote it meanwhile (then keep it)."""
    if seen is None:
        return False
    current = store.head(keys.dirty_key(day, device_id))
    if current is None or current.etag != seen.etag:
        return False
    store.delete(keys.dirty_key(day, device_id))
    return True
