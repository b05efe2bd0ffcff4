"""The aggregator's domain: validate one raw object, plan the days to aggregate, aggregate one device-day.

Pure domain code: every function takes an `ObjectStore` (S3, a directory, memory) and imports no cloud SDK.
The handlers in `services/aws-aggregator` and the local runtime call exactly these functions.

Counts are in MQTT messages (envelopes): `envelopes = kept + quarantined + duplicates`. Docs: docs/aws.md,
section "Aggregator".
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from wattline import PARSER_VERSION, keys
from wattline.errors import NotFoundError, PermanentError
from wattline.formats.frames import EnvelopeFields, envelope_fields
from wattline.formats.readings import reading_line, ts_text
from wattline.models import (
    DailyManifest,
    Envelope,
    QuarantineRecord,
    Reading,
)
from wattline.parsing import MAX_LINE_BYTES, Gen2State, parse_line, parse_message, parse_object
from wattline.parsing._common import Row, row_from_reading
from wattline.parsing.gc import paused_gc
from wattline.ports import ObjectInfo, ObjectStore

logger = logging.getLogger(__name__)

INVALID_DEVICE_SEGMENT = keys.INVALID_DEVICE_SEGMENT
"""The device segment the bridge writes when a topic names an unsafe device id (validate quarantines the object)."""

DEFAULT_DEDUP_WINDOW_MS = 2_000
"""Gen1 and Gen2 status/online messages with identical topic and payload this close together are one delivery."""

STATE_PREFIX = "state/aggregated/"

_DAY_MS = 86_400_000


def aggregation_state_key(day: date, device_id: str) -> str:
    """The aggregator's own record of a device-day: which raw objects the daily file holds, and its counts.

    It lets a re-aggregation after late data merge into the daily file once the archiver has moved the day's
    earlier raw objects away (see docs/aws.md, "Late data").
    """
    return f"{STATE_PREFIX}dt={day.isoformat()}/device={device_id}.json.gz"


def reference_now_ms(day: date) -> int:
    """The "now" the parsers judge timestamps against for a raw partition: the end of its UTC day.

    Using the partition's day instead of the wall clock makes validate and aggregate deterministic (a re-run, or a
    run months later, quarantines exactly the same messages).
    """
    return int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC).timestamp() * 1000)


# ---------------------------------------------------------------------------------------------------------------
# validate


@dataclass(frozen=True)
class ValidationResult:
    """What validating one raw object found. `received = valid + quarantined` (in envelopes)."""

    source_key: str
    received: int
    valid: int
    quarantined: int
    reasons: dict[str, int]
    quarantine_key: str | None
    late: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_key": self.source_key,
            "received": self.received,
            "valid": self.valid,
            "quarantined": self.quarantined,
            "reasons": dict(self.reasons),
            "quarantine_key": self.quarantine_key,
            "late": self.late,
        }


def validate_object(store: ObjectStore, key: str) -> ValidationResult:
    """Parse every envelope of one raw object; write the invalid ones to quarantine; mark late data dirty.

    A message whose readings name a device other than its partition's (the device its topic names) is quarantined
    as device_mismatch, as the aggregator does.

    Valid envelopes stay where they are (the aggregator reads them). The quarantine key is derived from the source
    key and the output bytes only from the object's content, so a re-run writes the same object again. Raises
    `NotFoundError` when the object is gone and `TransientError` when the store fails; never raises on bad data.
    """
    data = store.get(key)
    location = keys.parse_raw_key(key)
    now_ms = reference_now_ms(location[0]) if location else None
    partition = location[1] if location is not None and _is_aggregatable_device(location[1]) else None
    outcomes = parse_object(data, source_key=key, now_ms=now_ms, device_id=partition)
    records = [outcome.quarantined for outcome in outcomes if outcome.quarantined is not None]
    reasons: dict[str, int] = {}
    for record in records:
        reasons[record.reason.value] = reasons.get(record.reason.value, 0) + 1

    day, device_id, name = _quarantine_location(key, location, records)
    quarantine_key = None
    if records:
        quarantine_key = keys.quarantine_key(day, device_id, name)
        body = "".join(record.to_json_line() + "\n" for record in records).encode("utf-8")
        store.put(quarantine_key, body, content_type="application/x-ndjson")

    late = False
    if location is not None and _is_aggregatable_device(location[1]):
        partition_day, partition_device = location[0], location[1]
        if store.head(keys.daily_readings_key(partition_day, partition_device)) is not None:
            store.put(keys.dirty_key(partition_day, partition_device), key.encode("utf-8"), content_type="text/plain")
            late = True
    return ValidationResult(
        source_key=key,
        received=len(outcomes),
        valid=len(outcomes) - len(records),
        quarantined=len(records),
        reasons=dict(sorted(reasons.items())),
        quarantine_key=quarantine_key,
        late=late,
    )


def _quarantine_location(
    key: str, location: tuple[date, str, str] | None, records: Sequence[QuarantineRecord]
) -> tuple[date, str | None, str]:
    """(day, device or None, source object name) for the quarantine key of an object."""
    name = key.rstrip("/").rsplit("/", 1)[-1] or "object"
    if location is not None:
        day, device_id, name = location
        return day, device_id if _is_aggregatable_device(device_id) else None, name
    times = [record.received_ms for record in records if record.received_ms is not None]
    moment = datetime.fromtimestamp(min(times) / 1000, tz=UTC) if times else datetime.now(UTC)
    devices = {record.device_id for record in records if record.device_id}
    return moment.date(), devices.pop() if len(devices) == 1 else None, name


def _is_aggregatable_device(device_id: str) -> bool:
    return device_id != INVALID_DEVICE_SEGMENT and keys.is_safe_device_id(device_id)


# ---------------------------------------------------------------------------------------------------------------
# plan


@dataclass(frozen=True, order=True)
class DayItem:
    """One unit of aggregation work: a Step Functions Map item."""

    date: date
    device_id: str

    def as_dict(self) -> dict[str, str]:
        return {"device_id": self.device_id, "date": self.date.isoformat()}


def last_closed_day(now: datetime, grace: timedelta) -> date:
    """The latest UTC day whose end plus the grace period is not after `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return ((now.astimezone(UTC) - grace).date()) - timedelta(days=1)


def plan_days(
    store: ObjectStore,
    now: datetime,
    *,
    grace: timedelta = timedelta(hours=2),
    lookback_days: int = 7,
) -> list[DayItem]:
    """The device-days to aggregate now, sorted by (date, device).

    - closed days (day end + grace <= now) within the last `lookback_days` closed days that have raw data but no
      daily manifest yet;
    - every device-day with a dirty marker (late data arrived after its daily file was written), if closed.
    """
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    newest = last_closed_day(now, grace)
    items: set[DayItem] = set()
    for offset in range(lookback_days):
        day = newest - timedelta(days=offset)
        day_prefix = f"{keys.RAW_PREFIX}dt={day.isoformat()}/"
        for child in child_prefixes(store, day_prefix):
            device_id = child[len(day_prefix) :].removeprefix("device=").rstrip("/")
            if not _is_aggregatable_device(device_id) or not child[len(day_prefix) :].startswith("device="):
                continue
            if store.head(keys.daily_manifest_key(day, device_id)) is None:
                items.add(DayItem(day, device_id))
    for info in store.list(keys.DIRTY_PREFIX):
        parsed = parse_dirty_key(info.key)
        if parsed is not None and parsed[0] <= newest and _is_aggregatable_device(parsed[1]):
            items.add(DayItem(parsed[0], parsed[1]))
    return sorted(items)


def parse_dirty_key(key: str) -> tuple[date, str] | None:
    """`state/dirty/dt=YYYY-MM-DD/device=<id>` → (day, device_id), or None for any other key."""
    rest = key.removeprefix(keys.DIRTY_PREFIX)
    if rest == key:
        return None
    parts = rest.split("/")
    if len(parts) != 2 or not parts[0].startswith("dt=") or not parts[1].startswith("device="):
        return None
    try:
        day = date.fromisoformat(parts[0][3:])
    except ValueError:
        return None
    return day, parts[1][len("device=") :]


def child_prefixes(store: ObjectStore, prefix: str) -> list[str]:
    """The next-level 'directories' under `prefix` ('…/x/'); uses the store's delimiter listing when it has one."""
    lister: Callable[[str], Iterable[str]] | None = getattr(store, "list_prefixes", None)
    if lister is not None:
        return sorted(lister(prefix))
    found: set[str] = set()
    for key in list_keys(store, prefix):
        head, sep, _rest = key[len(prefix) :].partition("/")
        if sep:
            found.add(f"{prefix}{head}/")
    return sorted(found)


def list_keys(store: ObjectStore, prefix: str) -> list[str]:
    """Keys under `prefix`, sorted; uses the store's cheaper key listing when it has one."""
    lister: Callable[[str], Iterable[str]] | None = getattr(store, "list_keys", None)
    if lister is not None:
        return sorted(lister(prefix))
    return sorted(info.key for info in store.list(prefix))


# ---------------------------------------------------------------------------------------------------------------
# dedup


class RawEnvelope(NamedTuple):
    """One envelope line of a raw object, decoded just enough to order and deduplicate it."""

    received_ms: int
    source_key: str
    line_no: int
    topic: str
    payload: Any
    payload_b64: str | None
    raw_payload: bytes = b""
    """The envelope line without its received_ms (set by `split_object`): the payload as stored, cheaply."""

    def envelope(self) -> Envelope:
        return Envelope.model_construct(
            topic=self.topic, received_ms=self.received_ms, payload=self.payload, payload_b64=self.payload_b64
        )


def dedup_key(envelope: RawEnvelope) -> tuple[bool, str, str]:
    """(carries device time, topic, payload) — two envelopes with equal keys carry the same message.

    A Gen2 JSON-RPC frame with `params.ts` carries the device's time, so equal topic and payload is the same
    message whenever it arrives. Everything else (Gen1 topics, Gen2 `status/<component>` and `online`) carries no
    device time: equal content is a redelivery only within the dedup window (see `dedup`).
    """
    payload = envelope.payload
    if envelope.payload_b64 is not None:  # what the IoT rules store for every message
        timed = envelope.topic.endswith(_EVENTS_RPC) and _has_device_time(_b64_json(envelope.payload_b64))
        return timed, envelope.topic, "b64:" + envelope.payload_b64
    if isinstance(payload, str):
        return False, envelope.topic, "txt:" + payload
    timed = _has_device_time(payload)
    if envelope.raw_payload:  # same bytes but the receive time: the same stored message (one rule writes both)
        return timed, envelope.topic, "raw:" + envelope.raw_payload.decode("utf-8", "surrogateescape")
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, allow_nan=True)
    return timed, envelope.topic, "json:" + text


_EVENTS_RPC = "/events/rpc"
_DECODER = json.JSONDecoder()


def _has_device_time(payload: Any) -> bool:
    """A Gen2 JSON-RPC frame whose `params.ts` is a number (the device's clock)."""
    params = payload.get("params") if isinstance(payload, dict) else None
    return isinstance(params, dict) and params.get("ts").__class__ in (int, float)


def _b64_json(text: str) -> Any:
    try:
        return _DECODER.decode(base64.b64decode(text, validate=True).decode("utf-8"))
    except (ValueError, RecursionError):  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def dedup(envelopes: Iterable[RawEnvelope], window_ms: int = DEFAULT_DEDUP_WINDOW_MS) -> tuple[list[RawEnvelope], int]:
    """Drop MQTT QoS 1 redeliveries; returns (kept envelopes in receive order, number dropped).

    Receive order is (received_ms, source key, line number). An envelope is a duplicate when an earlier kept
    envelope has the same topic and payload and either the payload carries device time (a Gen2 frame with
    `params.ts`: identical topic + payload ⇒ identical device ts), or it was received at most `window_ms` earlier.
    The window is measured from the last *kept* copy, so a value that genuinely repeats every publish period
    (Gen1: 30 s) is never dropped, while a burst of redeliveries collapses into one message.
    """
    kept: list[RawEnvelope] = []
    last_kept_ms: dict[tuple[str, str], int] = {}
    dropped = 0
    for envelope in sorted(envelopes, key=_receive_order):
        timed: bool | None = None
        if envelope.payload_b64 is not None:  # `dedup_key` without decoding the payload (the hot path, see below)
            identity = (envelope.topic, "b64:" + envelope.payload_b64)
        else:
            timed, topic, payload = dedup_key(envelope)
            identity = (topic, payload)
        previous = last_kept_ms.get(identity)
        if previous is not None:
            # Whether the payload carries device time is a function of the identity, so it is only needed (and
            # only decoded) for an identity seen before: a timed one is a duplicate however late it comes.
            if timed is None:
                timed = dedup_key(envelope)[0]
            if timed or envelope.received_ms - previous <= window_ms:
                dropped += 1
                continue
        last_kept_ms[identity] = envelope.received_ms
        kept.append(envelope)
    return kept, dropped


_receive_order: Callable[[RawEnvelope], tuple[int, str, int]] = operator.itemgetter(0, 1, 2)
"""(received_ms, source_key, line_no): the receive order of envelopes."""


def split_object(data: bytes, source_key: str) -> tuple[list[RawEnvelope], list[bytes]]:
    """A raw object → (well-formed envelopes, malformed lines) — the same framing as `parsing.parse_object`.

    Malformed lines (not JSON, not an envelope) are returned as bytes for the parser to quarantine with a reason.
    """
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        return [], [data]
    if len(lines) > 1 and not lines[0].rstrip().endswith(b"}") and len(data) <= MAX_LINE_BYTES:
        whole = envelope_fields(data)  # perhaps one pretty-printed envelope
        if whole is not None:
            return [RawEnvelope(whole.received_ms, source_key, 0, *_payload_fields(whole))], []
    envelopes: list[RawEnvelope] = []
    malformed: list[bytes] = []
    for line_no, line in enumerate(lines):
        fields = envelope_fields(line) if len(line) <= MAX_LINE_BYTES else None
        if fields is None:
            malformed.append(line)
        else:
            envelopes.append(RawEnvelope(fields.received_ms, source_key, line_no, *_payload_fields(fields)))
    return envelopes, malformed


def _payload_fields(fields: EnvelopeFields) -> tuple[str, Any, str | None, bytes]:
    return fields.topic, fields.payload, fields.payload_b64, fields.raw_payload


# ---------------------------------------------------------------------------------------------------------------
# aggregate


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
    redeliveries (`dedup`), parses in receive order with one Gen2State (NotifyStatus deltas overlay in order),
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

    items = [_row_item(row_from_reading(reading), seq) for seq, reading in enumerate(previous_readings)]
    counts = _aggregate_objects(
        store, day, device_id, to_read, items, concurrency=concurrency, window_ms=dedup_window_ms
    )
    counts = previous_counts.merged(counts)
    lines = _canonical(items)
    payload = "\n".join([line for _ts, line in lines] + [""]) if lines else ""
    data = gzip.compress(payload.encode("utf-8"), compresslevel=6, mtime=0)
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
    manifest_bytes = json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True).encode("utf-8") + b"\n"
    store.put(keys.daily_manifest_key(day, device_id), manifest_bytes, content_type="application/json")
    cleared = _clear_dirty(store, day, device_id, dirty_marker)
    return AggregateResult(device_id, day, mode, counts, len(lines), len(sources), manifest, cleared)


def _aggregate_objects(
    store: ObjectStore,
    day: date,
    device_id: str,
    object_keys: Sequence[str],
    items: list[_Item],
    *,
    concurrency: int,
    window_ms: int,
) -> DayCounts:
    """Reads, frames, deduplicates and parses the objects; appends one `_Item` per reading to `items`. A message
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
                for reading in outcome.readings:
                    items.append(_row_item(row_from_reading(reading), len(items)))
    counts.envelopes += len(envelopes)
    kept, counts.duplicates = dedup(envelopes, window_ms)
    state = Gen2State()
    with paused_gc():
        for envelope in kept:
            parsed = parse_message(
                envelope.topic,
                envelope.received_ms,
                envelope.payload,
                envelope.payload_b64,
                now_ms=now_ms,
                state=state,
                device_id=device_id,
            )
            if isinstance(parsed, QuarantineRecord):
                counts.add_quarantine(parsed)
            else:
                for row in parsed:
                    items.append(_row_item(row, len(items)))
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


def _row_item(row: Row, seq: int) -> _Item:
    device_id, channel, ts_us, received_ms, generation, values = row
    ts = ts_text(ts_us)
    line = reading_line(device_id, channel, ts, received_ms, generation.value, values)
    return (ts_us, -1 if channel is None else channel, received_ms, line, seq, ts, row)


def _same_observation(a: Row, b: Row) -> bool:
    """Equal in everything but received_ms (Reading.dedup_key): an MQTT QoS 1 redelivery of the same reading."""
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[4] == b[4] and a[5] == b[5]


def canonical_lines(readings: Iterable[Reading]) -> list[tuple[str, str]]:
    """(formatted ts, JSON line) per distinct reading, in file order: (ts, channel, received_ms, line).

    Lines are exactly `Reading.to_json_line()`. Readings equal in everything but `received_ms` are the same
    observation (Reading.dedup_key): the first received is kept.
    """
    return _canonical([_row_item(row_from_reading(reading), seq) for seq, reading in enumerate(readings)])


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
        data = gzip.decompress(store.get(keys.daily_readings_key(day, device_id)))
    except NotFoundError:
        return []
    return [reading_from_line(line) for line in data.splitlines() if line.strip()]


def reading_from_line(line: bytes | str) -> Reading:
    """A daily-file line back into a Reading (`to_json_line` omits `channel` when it is null)."""
    body = json.loads(line)
    body.setdefault("channel", None)
    return Reading.model_validate(body)


def _clear_dirty(store: ObjectStore, day: date, device_id: str, seen: ObjectInfo | None) -> bool:
    """Delete the dirty marker seen at the start, unless late data rewrote it meanwhile (then keep it)."""
    if seen is None:
        return False
    current = store.head(keys.dirty_key(day, device_id))
    if current is None or current.etag != seen.etag:
        return False
    store.delete(keys.dirty_key(day, device_id))
    return True


__all__ = [
    "DEFAULT_DEDUP_WINDOW_MS",
    "INVALID_DEVICE_SEGMENT",
    "AggregateResult",
    "DayCounts",
    "DayItem",
    "RawEnvelope",
    "ValidationResult",
    "aggregate_day",
    "aggregation_state_key",
    "canonical_lines",
    "dedup",
    "dedup_key",
    "last_closed_day",
    "plan_days",
    "reading_from_line",
    "validate_object",
]
