"""Aggregate one device-day: read, deduplicate, parse, sort and write the daily file, its state and manifest."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from wattline import PARSER_VERSION, keys
from wattline.aggregation.common import (
    DEFAULT_DEDUP_WINDOW_MS,
    INVALID_DEVICE_SEGMENT,
    aggregation_state_key,
    list_keys,
    reference_now_ms,
)
from wattline.aggregation.dedup import RawEnvelope, StoredEnvelopes, dedup, split_object, stored_envelopes
from wattline.errors import NotFoundError, PermanentError
from wattline.formats.columns import ReadingColumns, written_columns
from wattline.formats.readings import (
    daily_text_bytes,
    float_shape_template,
    float_shape_text,
    json_string,
    reading_lines,
    templated_text,
)
from wattline.models import DailyManifest, QuarantineRecord, Reading, readings_from_file
from wattline.parsing import Row, parse_line_rows, row_from_reading
from wattline.parsing.batch import NO_CHANNEL, QUANTITIES, ParsedBatch, RowColumns, parse_messages
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
    hand_over: Callable[[bytes, ReadingColumns], None] | None = None,
    validated: Callable[[str, bytes], ParsedBatch | None] | None = None,
) -> AggregateResult:
    """Build `daily/dt=<day>/device=<id>/readings.jsonl.gz` + `manifest.json` from the device-day's raw objects.

    Reads every raw object of the partition (listing paginated, reads on a pool of `concurrency` threads), drops
    redeliveries (`dedup`), parses each message (no reading depends on another message, so order does not matter),
    sorts readings by (ts, channel, received_ms, line) and writes the gzip file with mtime 0: the same raw objects
    always give a byte-identical file. Writes, in order: readings, the aggregation state, the manifest (the commit
    point the archiver waits for); then clears the dirty marker if no newer late data marked it meanwhile.

    If the aggregation state names raw objects that are gone (the archiver moved them after the last run), the new
    raw objects are merged into the existing daily file instead of rebuilding it from what is left.

    `hand_over`, when given, is called once the day is written with the daily file's bytes and the columns
    `read_columns` gives for them, taken from the rows the file was written from (a loader in the same process
    takes them instead of parsing the file again).

    `validated`, when given, gives what validating a raw object (its key, its bytes) parsed, if it was parsed in the
    same process: `parse_object` of the object, as `validate_object` ran it (the same reference time and device).
    A day whose every object it gives is not parsed again; the rows are the same (a message's rows depend on that
    message alone).
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

    with paused_gc():  # the day's rows and lines: millions of acyclic objects (see `paused_gc`)
        previous = [row_from_reading(reading) for reading in previous_readings]
        counts, parts = _aggregate_objects(
            store, day, device_id, to_read, concurrency=concurrency, window_ms=dedup_window_ms, validated=validated
        )
        counts = previous_counts.merged(counts)
        rows = RowColumns.concat([RowColumns.from_rows(previous), *parts])
        lines = daily_lines(rows)
        data = daily_text_bytes(lines.pieces)
        columns = daily_columns(rows, lines) if hand_over is not None else None
        del rows, parts  # (not held through the writes: the lines and columns are all the rest needs)
    sha256 = hashlib.sha256(data).hexdigest()
    manifest = DailyManifest(
        device_id=device_id,
        date=day.isoformat(),
        readings=lines.line_count,
        envelopes=counts.envelopes,
        duplicates=counts.duplicates,
        quarantined=counts.quarantined,
        source_objects=len(sources),
        first_ts=lines.first_ts,
        last_ts=lines.last_ts,
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
    if hand_over is not None and columns is not None:
        hand_over(data, columns)
    return AggregateResult(device_id, day, mode, counts, lines.line_count, len(sources), manifest, cleared)


def daily_columns(rows: RowColumns, lines: DailyLines) -> ReadingColumns:
    """The columns `read_columns` gives for the daily file of `lines` (`daily_lines(rows)`), without reading it."""
    return written_columns(
        lines.rows,
        devices=rows.devices,
        device=rows.device,
        channel=rows.channel,
        ts_us=rows.ts_us,
        received_ms=rows.received_ms,
        gen2=rows.gen2,
        quantities={name: rows.values[:, column] for column, name in enumerate(QUANTITIES)},
        states=rows.state,
    )


def _aggregate_objects(
    store: ObjectStore,
    day: date,
    device_id: str,
    object_keys: Sequence[str],
    *,
    concurrency: int,
    window_ms: int,
    validated: Callable[[str, bytes], ParsedBatch | None] | None = None,
) -> tuple[DayCounts, list[RowColumns]]:
    """Reads, frames, deduplicates and parses the objects: (the counts, the rows in file-building order). A message
    whose readings name another device than the partition's `device_id` is quarantined (device_mismatch)."""
    counts = DayCounts()
    unframed: list[Row] = []
    now_ms = reference_now_ms(day)
    objects = list(zip(object_keys, read_objects(store, object_keys, concurrency=concurrency), strict=True))
    stored = stored_envelopes(objects, window_ms)  # the common day, in columns
    batch: ParsedBatch | None = None
    if stored is not None:
        if validated is not None:
            batch = _validated_batch(objects, stored, validated)
        objects.clear()  # (their bytes are not needed any more)
        topics, received_ms, payloads_b64, counts.duplicates, _origins = stored
        payloads: list[Any] = [None] * len(topics)
        encoded: list[str | None] = list(payloads_b64)
        counts.envelopes = len(topics) + counts.duplicates
    else:
        envelopes: list[RawEnvelope] = []
        for key, data in objects:
            decoded, malformed = split_object(data, key)
            envelopes.extend(decoded)
            for line in malformed:
                parsed = parse_line_rows(line, source_key=key, now_ms=now_ms, device_id=device_id)
                counts.envelopes += 1
                if isinstance(parsed, QuarantineRecord):
                    counts.add_quarantine(parsed)
                else:  # framing the parser accepts but `split_object` does not: keep it, undeduplicated
                    unframed.extend(parsed)
        counts.envelopes += len(envelopes)
        kept, counts.duplicates = dedup(envelopes, window_ms)
        topics = [envelope.topic for envelope in kept]
        received_ms = [envelope.received_ms for envelope in kept]
        payloads = [envelope.payload for envelope in kept]
        encoded = [envelope.payload_b64 for envelope in kept]
    if batch is None:
        batch = parse_messages(topics, received_ms, payloads, encoded, now_ms=now_ms, device_id=device_id)
    for _index, record in batch.quarantined:
        counts.add_quarantine(record)
    counts.reasons = dict(sorted(counts.reasons.items()))
    return counts, [RowColumns.from_rows(unframed), batch.rows]


def _validated_batch(
    objects: Sequence[tuple[str, bytes]],
    stored: StoredEnvelopes,
    validated: Callable[[str, bytes], ParsedBatch | None],
) -> ParsedBatch | None:
    """What `parse_messages` gives for the kept envelopes of `stored`, from what validating each object parsed: its
    kept messages' rows and records, in the kept order. None unless every object was validated in this process."""
    batches = [validated(key, data) for key, data in sorted(objects, key=lambda item: item[0])]  # (key order)
    if any(batch is None for batch in batches):
        return None
    parsed = cast(list[ParsedBatch], batches)
    starts = np.cumsum([0] + [batch.messages for batch in parsed])
    if starts[-1] != len(stored.origins) + stored.duplicates:
        return None  # (not the objects framed: never, unless an object changed in between)
    rank = np.full(int(starts[-1]), -1, np.int64)  # each of the day's envelopes: its place among the kept, or -1
    rank[stored.origins] = np.arange(len(stored.origins))
    rows = RowColumns.concat(
        [
            dataclasses.replace(batch.rows, message=batch.rows.message + start)
            for batch, start in zip(parsed, starts[:-1].tolist(), strict=True)
        ]
    )
    place = rank[rows.message]
    picked = np.flatnonzero(place >= 0)
    picked = picked[np.argsort(place[picked], kind="stable")]  # (a message's rows stay in their order)
    rows = dataclasses.replace(rows.take(picked), message=place[picked])
    quarantined = sorted(
        (
            (int(rank[start + index]), record)
            for batch, start in zip(parsed, starts[:-1].tolist(), strict=True)
            for index, record in batch.quarantined
            if rank[start + index] >= 0
        ),
        key=lambda item: item[0],
    )
    return ParsedBatch(rows, quarantined, len(stored.origins))


def read_objects(store: ObjectStore, object_keys: Sequence[str], *, concurrency: int = 8) -> Iterator[bytes]:
    """The objects' bytes in the order of `object_keys`, fetched by up to `concurrency` threads."""
    if concurrency == 1 or len(object_keys) <= 1:
        return (store.get(key) for key in object_keys)
    with ThreadPoolExecutor(max_workers=min(concurrency, len(object_keys))) as pool:
        return iter(list(pool.map(store.get, object_keys)))


def canonical_lines(readings: Iterable[Reading]) -> list[tuple[str, str]]:
    """(formatted ts, JSON line) per distinct reading, in file order: (ts, channel, received_ms, line).

    Lines are exactly `Reading.to_json_line()`. Readings equal in everything but `received_ms` are the same
    observation (Reading.dedup_key): the first received is kept.
    """
    rows = [row_from_reading(reading) for reading in readings]
    lines = daily_lines(RowColumns.from_rows(rows), with_times=True)
    return list(zip(lines.times, lines.lines, strict=True))


class DailyLines(NamedTuple):
    """A daily file's text in pieces (whole lines, each ending in a line break: `daily_text_bytes` compresses them
    without joining), its number of lines, the formatted times of its first and last (None when empty), of every
    line when asked for, and the row each line was written from."""

    pieces: list[str]
    line_count: int
    first_ts: str | None
    last_ts: str | None
    times: list[str]
    rows: NDArray[np.intp]

    @property
    def lines(self) -> list[str]:
        """The lines in file order."""
        return "".join(self.pieces).split("\n")[:-1]


def daily_lines(rows: RowColumns, *, with_times: bool = False) -> DailyLines:
    """The JSON line of each distinct row, in file order: sorted by (ts, channel — none first —, received_ms,
    position in `rows`); of rows equal in everything but `received_ms` (the same observation, an MQTT QoS 1
    redelivery) only the first is kept. Only the rows kept are written, in file order."""
    n = len(rows)
    if not n:
        return DailyLines([], 0, None, None, [], np.zeros(0, np.intp))
    order = np.lexsort((np.arange(n), rows.received_ms, rows.channel, rows.ts_us))
    ts_us, channel = rows.ts_us[order], rows.channel[order]
    repeated = np.flatnonzero((ts_us[1:] == ts_us[:-1]) & (channel[1:] == channel[:-1])) + 1
    keep = np.ones(n, np.bool_)
    if len(repeated):  # a (ts, channel) seen before in the order: kept unless an earlier row is the same observation
        starts = np.flatnonzero(np.r_[True, (ts_us[1:] != ts_us[:-1]) | (channel[1:] != channel[:-1])])
        known: dict[int, Row] = {}

        def row(position: int) -> Row:
            found = known.get(position)
            if found is None:
                found = known[position] = rows.row(int(order[position]))
            return found

        for position in repeated.tolist():
            start = int(starts[np.searchsorted(starts, position, side="right") - 1])
            if any(_same_observation(row(other), row(position)) for other in range(start, position)):
                keep[position] = False
    kept = order[keep]
    texts = _ts_texts(rows.ts_us[kept])  # (in file order: a time's rows are next to each other)
    times = texts.tolist() if with_times else []
    return DailyLines(_pieces(rows, kept, texts), len(kept), str(texts[0]), str(texts[-1]), times, kept)


def _ts_texts(ts_us: NDArray[np.int64]) -> NDArray[np.object_]:
    """`ts_text` of each time (UTC, truncated to the millisecond) as str objects: a text per distinct minute and one
    per distinct second-and-millisecond within a minute, joined; made once for a run of equal times (a message's
    rows, one per channel, are next to each other)."""
    changes = np.diff(ts_us, prepend=ts_us[:1] - 1) != 0  # (the first time is a change)
    minutes, within = np.divmod(ts_us[changes] // 1000, 60_000)
    distinct_minutes, at_minute = np.unique(minutes, return_inverse=True)
    minute_texts = np.datetime_as_string(distinct_minutes.astype("datetime64[m]"), unit="m").tolist()
    distinct_within, at_within = np.unique(within, return_inverse=True)
    seconds, milliseconds = np.divmod(distinct_within, 1000)
    within_texts = _SECOND_TEXTS[seconds] + _MILLISECOND_TEXTS[milliseconds]
    texts: NDArray[np.object_] = (
        np.array([text + ":" for text in minute_texts], object)[at_minute] + within_texts[at_within]
    )
    return texts if len(texts) == len(ts_us) else texts[np.cumsum(changes) - 1]


_SECOND_TEXTS: Final = np.array([f"{second:02d}." for second in range(60)], object)
_MILLISECOND_TEXTS: Final = np.array([f"{millisecond:03d}Z" for millisecond in range(1000)], object)


def _pieces(rows: RowColumns, kept: NDArray[np.intp], texts: NDArray[np.object_]) -> list[str]:
    """The text of the lines of rows `kept` (file order; `texts`: their times), in pieces of whole lines, a shape
    (channel or none, generation, the quantities carried) at a time."""
    present = ~np.isnan(rows.values[kept])
    shape = present.astype(np.int64) @ (1 << np.arange(len(QUANTITIES), dtype=np.int64))
    stateful = rows.state[kept].astype(np.bool_)  # None, or a non-empty dict
    shape |= rows.gen2[kept].astype(np.int64) << 20 | (rows.channel[kept] == NO_CHANNEL).astype(np.int64) << 21
    shape |= stateful.astype(np.int64) << 22
    quoted = np.array([json_string(device_id) for device_id in rows.devices] or [""], dtype=object)
    if (shape == shape[0]).all():  # (the common day, one device's one kind of message: one template repeated)
        code = int(shape[0])
        if not code >> 22 & 1:
            return float_shape_text(*float_shape_template(*_float_shape(rows, kept, texts, code, quoted)))
    kinds, members_of = np.unique(shape, return_inverse=True)
    templates = np.empty(len(kept), object)
    slots = np.zeros(len(kept), np.int64)  # how many values each line's template takes
    filled: list[tuple[NDArray[np.intp], list[Sequence[Any]]]] = []
    for kind, code in enumerate(kinds.tolist()):
        members = np.flatnonzero(members_of.ravel() == kind)
        if code >> 22 & 1:  # online or relay: each line written whole by the general writer, its own template
            readings = [rows.row(int(index)) for index in kept[members]]
            lines = reading_lines(
                [row[0] for row in readings],
                [row[1] for row in readings],
                texts[members].tolist(),
                [row[3] for row in readings],
                [_generation(code)] * len(readings),
                [row[5] for row in readings],
            )
            templates[members] = [line.replace("%", "%%") + "\n" for line in lines]
        else:
            arrays = _float_shape(rows, kept[members], texts[members], code, quoted, listed=False)
            template, arguments = float_shape_template(*arrays)
            templates[members] = template + "\n"
            slots[members] = len(arguments)
            filled.append((members, arguments))
    ends = np.cumsum(slots)
    values = np.empty(int(ends[-1]), object)  # every line's values, in line order
    for members, arguments in filled:
        first = ends[members] - slots[members]
        for slot, column in enumerate(arguments):
            values[first + slot] = column
    return templated_text(templates, values, ends)


def _float_shape(
    rows: RowColumns,
    picked: NDArray[np.intp],
    texts: NDArray[np.object_],
    code: int,
    quoted: NDArray[np.object_],
    *,
    listed: bool = True,
) -> tuple[bool, str, tuple[str, ...], Sequence[str], Sequence[int], Sequence[str], Sequence[int], list[Sequence[str]]]:
    """The arguments of `float_shape_template` for rows `picked` of the shape `code` (no device-level state),
    `texts` their times, `quoted` the JSON text of each device id. Each column a list (`listed`, for the lines of
    one shape) or an array of Python objects (to fill the array of every line's values without a list between)."""
    names = [column for column in range(len(QUANTITIES)) if code >> column & 1]

    def as_column(array: NDArray[Any]) -> Any:  # (the numbers made Python objects once, either way)
        return array.tolist() if listed else array.astype(object, copy=False)

    device_ids, channels, times, received_ms, *values = map(
        as_column,
        [
            quoted[rows.device[picked]],
            rows.channel[picked],
            texts,
            rows.received_ms[picked],
            *(_float_texts(rows.values[picked, index]) for index in names),
        ],
    )
    return (
        bool(code >> 21 & 1),
        _generation(code),
        tuple(QUANTITIES[column] for column in names),
        device_ids,
        channels,
        times,
        received_ms,
        values,
    )


def _generation(code: int) -> str:
    """The generation a `_pieces` shape code names (its bit 20)."""
    return "gen2" if code >> 20 & 1 else "gen1"


def _float_texts(values: NDArray[np.float64]) -> NDArray[np.object_]:
    """`repr` of each value (what the line writes for a float), made once per distinct value: a day repeats its
    readings' values (power to 0.1 W, voltage, counters) many times. Distinct by bits, so -0.0 stays "-0.0"."""
    bits, index = np.unique(values.view(np.int64), return_inverse=True)
    texts = np.array(list(map(repr, bits.view(np.float64).tolist())), dtype=object)
    taken: NDArray[np.object_] = texts[index.ravel()]
    return taken


def _same_observation(a: Row, b: Row) -> bool:
    """Equal in everything but received_ms (Reading.dedup_key): an MQTT QoS 1 redelivery of the same reading."""
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[4] == b[4] and a[5] == b[5]


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
