"""The GCS-finalize loader: one finalized daily readings file in, exact hourly energy MERGEd into the warehouse.

Pure domain: it speaks the ObjectStore, Warehouse and Publisher ports; the Cloud Function
(services/gcp-loader/main.py) and the local runners only wire adapters and map the outcome to ack or raise.

For a finalized `daily/dt=D/device=X/readings.jsonl.gz` (generation G):

1. Anything else (other prefixes, and manifests but for the case in 3) is ignored and acked. Events older than
   `max_event_age_s` are dropped (logged), never retried forever.
2. If the object now has a newer generation than G, the event is superseded (acked): the newer generation's
   own event loads it. A missing object (deleted since) is acked too.
3. The file is verified against its manifest (`sha256` and `bytes`). A missing manifest has not arrived yet (the
   Storage Transfer job does not order objects): TransientError, the platform retries (until the event is older
   than the maximum age). A file that does not match its manifest is never loaded: the event ends as `mismatch`
   (acked, logged once, the reason in `LoadResult.detail`), a permanent outcome of that file that stops nothing
   else. When it was a replaced file whose new manifest was still on its way, that manifest's own finalize event
   loads it: a manifest event whose readings file landed before it (a lower generation) and matches it is loaded
   as that file's event (otherwise a manifest event is ignored: the readings file's own event loads it).
4. Readings: this day's file, plus from the neighbouring days' files (when present) the readings the boundary
   hours need: per channel the previous day's last energy sample P (its whole local hour, and a few samples of
   each quantity before it) and the next day's first energy sample N (its whole local hour and a few samples
   after it). A channel silent for whole days is bridged up to `neighbour_days` away.
5. `compute_hourly` runs over them; the rows of the local hours from hour(P) to hour(N) are exact and are MERGEd
   into `energy_hourly` by (device_id, channel, hour_start): this day's hours, the previous day's last hour(s)
   that this file completes, and the next day's first hour(s). Each of those hours is computed from exactly the
   samples around it, so any delivery order of any number of (re-)deliveries converges to the values computed
   once from the final files. Each row also carries `source_generation` (`<object>#<generation>` of the load
   that wrote it last; the warehouse stamps `loaded_at`): provenance, not part of the energy.
6. `energy.updated` is published (JSON: device_id, date, channels, hours_from/hours_to, rows, source object +
   generation). A failed publish raises TransientError; the retry re-MERGEs the same rows (no change).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from wattline import defaults
from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.formats.columns import ReadingColumns, line_times_ms, read_columns, read_jsonl
from wattline.formats.messages import ENERGY_UPDATED, EnergyUpdated, SourceObject
from wattline.formats.readings import daily_bytes
from wattline.keys import MANIFEST_FILE, READINGS_FILE, daily_manifest_key, daily_readings_key, parse_daily_key
from wattline.models import DailyManifest, Generation, HourlyEnergy
from wattline.ports import ObjectStore, Publisher, Warehouse

if TYPE_CHECKING:
    from wattline.energy import EnergyResult

logger = logging.getLogger(__name__)

ENERGY_TABLE = "energy_hourly"
ENERGY_KEY = ("device_id", "channel", "hour_start")
_NO_CHANNEL = -1
_GEN2 = Generation.GEN2.value
_ENERGY_NAMES = ("power_w", "energy_total_wh", "energy_returned_total_wh")  # the order of ReadingColumns.carries()


# ---------------------------------------------------------------------------------------------------------------
# Inputs, options and outcome
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FinalizedObject:
    """The part of a `google.cloud.storage.object.v1.finalized` event the loader needs."""

    bucket: str
    name: str
    generation: str | None = None
    event_time: datetime | None = None
    event_id: str | None = None

    @classmethod
    def from_cloud_event(cls, attributes: dict[str, Any], data: dict[str, Any]) -> FinalizedObject:
        """From a CloudEvent's attributes and its `data` (the GCS object resource)."""
        name = data.get("name")
        bucket = data.get("bucket")
        if not isinstance(name, str) or not isinstance(bucket, str):
            raise PermanentError("storage event without data.bucket/data.name")
        generation = data.get("generation")
        return cls(
            bucket=bucket,
            name=name,
            generation=str(generation) if generation is not None else None,
            event_time=_parse_time(attributes.get("time")),
            event_id=str(attributes["id"]) if attributes.get("id") is not None else None,
        )


@dataclass(frozen=True)
class LoaderOptions:
    """Engine and policy settings of one loader deployment (built from the service's settings)."""

    timezone: str = defaults.TIMEZONE
    method: str = "auto"
    max_gap_s: float = defaults.MAX_GAP_S
    max_power_w: float = defaults.MAX_POWER_W
    max_event_age_s: float = 86_400.0
    neighbour_days: int = 3  # how far to look for a channel's previous/next samples (bridges silent days)
    topic: str = "energy-updated"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class LoadStatus(StrEnum):
    LOADED = "loaded"
    IGNORED = "ignored"  # not a daily readings file
    TOO_OLD = "too_old"  # older than max_event_age_s: dropped
    SUPERSEDED = "superseded"  # a newer generation exists; its own event loads it
    MISSING = "missing"  # deleted since the event
    EMPTY = "empty"  # verified, but no energy rows to write
    MISMATCH = "mismatch"  # does not match its manifest's sha256 and size: never loaded (permanent)


@dataclass
class LoadResult:
    status: LoadStatus
    detail: str = ""
    device_id: str | None = None
    day: date | None = None
    rows: int = 0
    channels: list[int] = field(default_factory=list)
    hours_from: datetime | None = None
    hours_to: datetime | None = None
    message_id: str | None = None
    hourly: list[HourlyEnergy] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Boundary selection
# ---------------------------------------------------------------------------------------------------------------
# Samples of each quantity kept beyond a boundary hour, so that every interval touching that hour — and the
# neighbour checks of the counter rules (glitch = one reading below both neighbours) — see the same samples as a
# computation over the whole history would.
_MARGIN_SAMPLES = 3


def local_hour(ts_s: float, zone: tzinfo) -> tuple[float, float]:
    """Start and end (UTC Unix seconds) of the local hour holding `ts_s` — the engine's own hour edges, so the
    bounds compare exactly with its `hour_start`s (DST, 30-minute shifts and +5:45 zones included)."""
    from wattline.energy import local_hour_edges

    edges = local_hour_edges(ts_s, ts_s, zone)
    return float(edges[0]), float(edges[1])


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class _Side:
    """Rows taken from a neighbour file, and the hour_start bound this load may write up to (inclusive)."""

    rows: NDArray[np.intp]
    bound: datetime | None


_NONE = _Side(np.zeros(0, np.intp), None)


def _energy_rows(
    cols: ReadingColumns | None, device: str, channel: int
) -> tuple[NDArray[np.intp], NDArray[np.float64], list[NDArray[np.bool_]], NDArray[np.bool_]] | None:
    """A neighbour's rows of one channel in time order, their times, which carry each quantity, and which carry
    energy (None: no neighbour file, or the channel has no energy sample in it)."""
    if cols is None:
        return None
    order = cols.rows(device, channel)
    carried = [c[order] for c in cols.carries()]
    energy = carried[0] | carried[1] | carried[2]
    return (order, cols.ts_s[order], carried, energy) if energy.any() else None


def _previous_side(cols: ReadingColumns | None, device: str, channel: int, zone: tzinfo) -> _Side:
    """From the previous day: the local hour of its last energy sample P, whole, plus a margin of samples before."""
    found = _energy_rows(cols, device, channel)
    if found is None:
        return _NONE
    order, ts, carried, energy = found
    edge, _ = local_hour(float(ts[energy][-1]), zone)
    hour_start = _dt(edge)
    cut = edge
    for has in carried:
        before = ts[has & (ts < edge)]
        if before.size:
            cut = min(cut, float(before[-min(_MARGIN_SAMPLES, before.size)]))
    return _Side(order[ts >= cut], hour_start)


def _next_side(cols: ReadingColumns | None, device: str, channel: int, zone: tzinfo) -> _Side:
    """From the next day: the local hour of its first energy sample N, whole, plus a margin of samples after."""
    found = _energy_rows(cols, device, channel)
    if found is None:
        return _NONE
    order, ts, carried, energy = found
    start, edge = local_hour(float(ts[energy][0]), zone)
    hour_start = _dt(start)
    cut = edge
    for has in carried:
        after = ts[has & (ts >= edge)]
        if after.size:
            cut = max(cut, float(after[min(_MARGIN_SAMPLES, after.size) - 1]))
    return _Side(order[ts <= cut], hour_start)


# ---------------------------------------------------------------------------------------------------------------
# The use case
# ---------------------------------------------------------------------------------------------------------------
def load_daily_file(
    event: FinalizedObject,
    *,
    store: ObjectStore,
    warehouse: Warehouse,
    publisher: Publisher,
    options: LoaderOptions,
    now: datetime | None = None,
    files: ParsedFiles | None = None,
) -> LoadResult:
    """Load one finalized daily readings file (see the module docstring). Safe to run any number of times.

    `files`: what the loads before this one parsed, kept for the next (a caller loading consecutive days passes
    the same `ParsedFiles` to each); None keeps nothing beyond this load."""
    files = files if files is not None else ParsedFiles()
    parsed = parse_daily_key(event.name)
    if parsed is not None and parsed[2] == MANIFEST_FILE:
        readings = _landed_before(store, event, parsed[0], parsed[1])
        if readings is None:
            return LoadResult(LoadStatus.IGNORED, f"a manifest (its readings file's own event loads it): {event.name}")
        return load_daily_file(
            readings, store=store, warehouse=warehouse, publisher=publisher, options=options, now=now, files=files
        )
    if parsed is None or parsed[2] != READINGS_FILE:
        return LoadResult(LoadStatus.IGNORED, f"not a daily readings file: {event.name}")
    day, device, _ = parsed
    now = now or datetime.now(tz=UTC)
    if event.event_time is not None and (now - event.event_time).total_seconds() > options.max_event_age_s:
        logger.warning("dropping event older than %ss: %s#%s", options.max_event_age_s, event.name, event.generation)
        return LoadResult(LoadStatus.TOO_OLD, f"event from {event.event_time.isoformat()} dropped", device, day)

    head = store.head(event.name)
    if head is None:
        return LoadResult(LoadStatus.MISSING, f"{event.name} no longer exists", device, day)
    stale = _compare_generations(head.generation, event.generation)
    if stale > 0:
        return LoadResult(
            LoadStatus.SUPERSEDED, f"generation {head.generation} replaced {event.generation}", device, day
        )
    if stale < 0:
        raise TransientError(f"{event.name}: store reports generation {head.generation} < event's {event.generation}")

    data = _get(store, event.name)
    if data is None:
        return LoadResult(LoadStatus.MISSING, f"{event.name} no longer exists", device, day)
    mismatch = _verify(store, day, device, data)
    if mismatch is not None:
        logger.error("not loaded: %s", mismatch)
        return LoadResult(LoadStatus.MISMATCH, mismatch, device, day)
    today = files.read(data)

    zone = options.zone
    neighbours = _Neighbours(store, device, day, options.neighbour_days, zone, files)
    channels = today.channels(device)
    rows: list[HourlyEnergy] = []
    for channel in channels:
        prev_cols = neighbours.find(channel, -1)
        next_cols = neighbours.find(channel, +1)
        before = _previous_side(prev_cols, device, channel, zone)
        after = _next_side(next_cols, device, channel, zone)
        parts = [today.take(today.rows(device, channel))]
        if prev_cols is not None:
            parts.append(prev_cols.take(before.rows))
        if next_cols is not None:
            parts.append(next_cols.take(after.rows))
        hourly = channel_energy(
            ReadingColumns.concat(parts),
            device,
            channel,
            tz=options.zone,
            method=options.method,
            max_gap_s=options.max_gap_s,
            max_power_w=options.max_power_w,
        ).hourly
        rows.extend(row for row in hourly if _within(row.hour_start, before.bound, after.bound))
    if not rows:
        return LoadResult(LoadStatus.EMPTY, "no energy rows", device, day, channels=channels)

    source = f"{event.name}#{event.generation}" if event.generation else event.name
    records = [{**row.model_dump(), "source_generation": source} for row in rows]
    written = warehouse.merge_rows(ENERGY_TABLE, records, key=list(ENERGY_KEY))
    result = LoadResult(
        LoadStatus.LOADED,
        f"{written} rows merged",
        device,
        day,
        rows=len(rows),
        channels=sorted({row.channel for row in rows}),
        hours_from=min(row.hour_start for row in rows),
        hours_to=max(row.hour_start for row in rows),
        hourly=rows,
    )
    result.message_id = publisher.publish(
        options.topic,
        energy_updated_message(result, event),
        {"event": ENERGY_UPDATED, "device_id": device, "date": day.isoformat()},
    )
    return result


def energy_updated_message(result: LoadResult, event: FinalizedObject) -> bytes:
    """The `energy.updated` JSON: what changed, and from which source object generation."""
    return EnergyUpdated(
        device_id=result.device_id,
        date=result.day.isoformat() if result.day else None,
        channels=result.channels,
        hours_from=result.hours_from,
        hours_to=result.hours_to,
        rows=result.rows,
        source=SourceObject(bucket=event.bucket, name=event.name, generation=event.generation),
    ).to_bytes()


def channel_energy(
    cols: ReadingColumns,
    device: str,
    channel: int,
    *,
    tz: tzinfo,
    max_gap_s: float,
    max_power_w: float,
    method: str = "auto",
    rows: NDArray[np.intp] | None = None,
) -> EnergyResult:
    """The engine's columnar fast path over the rows of one (device, channel): `rows` of `cols` (in time order),
    or all of `cols` when it holds only those. Only the engine's columns are gathered (no copy of the ids)."""
    from wattline.energy import compute_hourly_arrays

    def pick(values: NDArray[Any]) -> NDArray[Any]:
        return values if rows is None else values[rows]

    return compute_hourly_arrays(
        device,
        channel,
        pick(cols.ts_s),
        pick(cols.power_w),
        pick(cols.energy_total_wh),
        pick(cols.energy_returned_wh),
        generation=Generation.GEN2 if bool(pick(cols.gen2).any()) else Generation.GEN1,
        tz=tz,
        method=method,
        max_gap_s=max_gap_s,
        max_power_w=max_power_w,
        received_ms=pick(cols.received_ms),
    )


def _within(hour_start: datetime, low: datetime | None, high: datetime | None) -> bool:
    start = hour_start.astimezone(UTC)
    return (low is None or start >= low) and (high is None or start <= high)


def _compare_generations(current: str | None, event: str | None) -> int:
    """>0 when the store holds a newer generation than the event's, <0 when older, 0 when equal or unknown."""
    if current is None or event is None:
        return 0
    try:
        a, b = int(current), int(event)
    except ValueError:
        return 0 if current == event else 1
    return (a > b) - (a < b)


def _get(store: ObjectStore, key: str) -> bytes | None:
    try:
        return store.get(key)
    except NotFoundError:
        return None


class _NeighbourFile:
    """A neighbouring day's file, parsed only as far as the boundary hours need.

    Daily files are sorted by time (the aggregator's contract; checked here), and every line carries one
    `"ts"`, so `line_times_ms` gives every line's time without parsing JSON. The previous day's tail (the next
    day's head) is parsed in growing windows — 2 h, 8 h, … — until it provably holds what a whole-file parse would
    select: the channel's last (first) energy sample, and `_MARGIN_SAMPLES` samples of every
    quantity the file carries beyond that sample's hour. Unsorted or unusual files (not ASCII, blank lines, a time
    not as the writer writes it) are parsed whole.
    """

    def __init__(self, data: bytes) -> None:
        self.raw = daily_bytes(data)
        ends = np.flatnonzero(np.frombuffer(self.raw, np.uint8) == ord("\n"))
        if not self.raw.endswith(b"\n"):
            ends = np.append(ends, len(self.raw))
        self.starts = np.concatenate(([0], ends + 1))  # line i is raw[starts[i]:starts[i + 1]]
        self.n = len(ends)
        self.ts_ms: NDArray[np.int64] | None = None
        if self.n and self.raw.isascii():
            values = line_times_ms(self.raw, self.starts[:-1], ends)
            if values is not None and bool(np.all(np.diff(values) >= 0)):
                self.ts_ms = values
        # The quantities the file carries anywhere. Both counters' names start `"energy_`: a file without counters
        # (a Gen2 meter's power-only lines) is scanned once for them, not once per name.
        counters = b'"energy_' in self.raw
        self.quantities = [
            i
            for i, name in enumerate(_ENERGY_NAMES)
            if (counters or not name.startswith("energy_")) and f'"{name}":'.encode() in self.raw
        ]
        self._parsed: dict[tuple[int, int], ReadingColumns] = {}

    @classmethod
    def parsed(cls, whole: ReadingColumns) -> _NeighbourFile:
        """A file already parsed whole (by the load of its own day): every window is the whole file, which is what
        the windows stand for."""
        neighbour = cls(b"")  # no line times: `previous` and `next` take the window (0, n), the whole file
        neighbour._parsed[(0, neighbour.n)] = whole
        return neighbour

    def _window(self, start: int, end: int) -> ReadingColumns:
        if (start, end) not in self._parsed:
            if self.ts_ms is None:  # parsed whole
                self._parsed[(start, end)] = read_jsonl(self.raw)
            else:
                self._parsed[(start, end)] = read_jsonl(self.raw[self.starts[start] : self.starts[end]])
        return self._parsed[(start, end)]

    def previous(self, device: str, channel: int, zone: tzinfo) -> ReadingColumns | None:
        """Enough of the file's end for `_previous_side`; None when the file holds no energy for the channel."""
        n = self.n
        span = 2 * 3_600_000
        while True:
            start = 0 if self.ts_ms is None else int(np.searchsorted(self.ts_ms, self.ts_ms[-1] - span, "left"))
            cols = self._window(start, n)
            if start == 0:
                return cols if _has_energy(cols, device, channel) else None
            if self._enough(cols, device, channel, zone, before=True):
                return cols
            span *= 4

    def next(self, device: str, channel: int, zone: tzinfo) -> ReadingColumns | None:
        """Enough of the file's start for `_next_side`; None when the file holds no energy for the channel."""
        n = self.n
        span = 2 * 3_600_000
        while True:
            end = n if self.ts_ms is None else int(np.searchsorted(self.ts_ms, self.ts_ms[0] + span, "right"))
            cols = self._window(0, end)
            if end == n:
                return cols if _has_energy(cols, device, channel) else None
            if self._enough(cols, device, channel, zone, before=False):
                return cols
            span *= 4

    def _enough(self, cols: ReadingColumns, device: str, channel: int, zone: tzinfo, *, before: bool) -> bool:
        order = cols.rows(device, channel)
        carried = [c[order] for c in cols.carries()]
        energy = carried[0] | carried[1] | carried[2]
        if not energy.any():
            return False
        ts = cols.ts_s[order]
        if before:
            edge = local_hour(float(ts[energy][-1]), zone)[0]
            return all(int((carried[q] & (ts < edge)).sum()) >= _MARGIN_SAMPLES for q in self.quantities)
        edge = local_hour(float(ts[energy][0]), zone)[1]
        return all(int((carried[q] & (ts >= edge)).sum()) >= _MARGIN_SAMPLES for q in self.quantities)


class ParsedFiles:
    """The last `size` daily files parsed whole, by their bytes. Loads of consecutive days of a device (an import, a
    rebuild, a backfill) sharing one parse each file once: the day a load parses is the next load's neighbour, taken
    whole from here (windows of a file stand for the whole file, so the rows are the same). The columns are shared
    between loads: their arrays are made read-only. Two files: a load parses its day, then looks for the previous
    one among the files parsed before. What it holds (~30 MB a file for 1 Hz two-channel days) is the caller's to
    let go.

    Files can also be handed over before any load (`hand_over`: the aggregator that wrote them in this process
    knows their columns): they wait, up to `handed_bytes` of columns, until a load reads them, and are never parsed.
    Keyed by the exact bytes, so a file changed on its way is parsed as usual."""

    def __init__(self, size: int = 2, *, handed_bytes: int = 0) -> None:
        self.size = size
        self.handed_bytes = handed_bytes
        self._files: dict[bytes, ReadingColumns] = {}
        self._handed: dict[bytes, ReadingColumns] = {}
        self._largest = 0  # the largest columns offered so far (bytes)
        self._lock = threading.Lock()

    def hand_over(self, data: bytes, columns: ReadingColumns) -> None:
        """Hold `columns`, which are `read_columns(data)`, until `data` is read; not taken when they would not fit
        in `handed_bytes` with the files already waiting (the first written are the first loaded)."""
        size = _nbytes(columns)
        with self._lock:
            self._largest = max(self._largest, size)
            if self._waiting_bytes() + size <= self.handed_bytes:
                self._handed[data] = _freeze(columns)

    def has_room(self) -> bool:
        """Whether columns as large as the largest offered so far would be taken now: an aggregator need not build
        a day's columns (15-40 ms for 1 Hz) that would not be (the days of a long backfill past the first few)."""
        with self._lock:
            return self._waiting_bytes() + self._largest <= self.handed_bytes

    def _waiting_bytes(self) -> int:
        return sum(map(_nbytes, self._handed.values()))

    def read(self, data: bytes) -> ReadingColumns:
        """`read_columns(data)`, parsed once while among the last `size` files (or never, when handed over)."""
        with self._lock:
            found = self._files.pop(data, None)
            if found is None:
                found = self._handed.pop(data, None)
            if found is None:
                self._keep(self.size - 1)  # before parsing: the oldest is not held through the parse's peak
        if found is None:
            found = _freeze(read_columns(data))
        with self._lock:
            self._files[data] = found  # the most recent last
            self._keep(self.size)
        return found

    def find(self, data: bytes) -> ReadingColumns | None:
        """The columns of `data` when it is among the last files read or the files handed over."""
        with self._lock:
            found = self._files.get(data)
            return self._handed.get(data) if found is None else found

    def _keep(self, count: int) -> None:
        while len(self._files) > count:
            del self._files[next(iter(self._files))]


def _freeze(columns: ReadingColumns) -> ReadingColumns:
    for column in dataclasses.fields(columns):
        getattr(columns, column.name).flags.writeable = False
    return columns


def _nbytes(columns: ReadingColumns) -> int:
    return sum(getattr(columns, column.name).nbytes for column in dataclasses.fields(columns))


class _Neighbours:
    """The device's daily files around `day`, read lazily and once. For a channel, the nearest earlier (later)
    file holding energy samples of it, looking at most `max_days` days away: a channel silent for a whole day
    (or a day without any file) is bridged, so the gap hours between are written too."""

    def __init__(
        self, store: ObjectStore, device: str, day: date, max_days: int, zone: tzinfo, files: ParsedFiles
    ) -> None:
        self.store, self.device, self.day, self.max_days, self.zone = store, device, day, max_days, zone
        self.files = files
        self._files: dict[date, _NeighbourFile | None] = {}

    def file(self, day: date) -> _NeighbourFile | None:
        if day not in self._files:
            data = _get(self.store, daily_readings_key(day, self.device))
            whole = None if data is None else self.files.find(data)
            try:
                if whole is not None:
                    self._files[day] = _NeighbourFile.parsed(whole)
                else:
                    self._files[day] = None if data is None else _NeighbourFile(data)
            except PermanentError:
                logger.warning("neighbour file %s unreadable; its boundary hours wait for its own load", day)
                self._files[day] = None
        return self._files[day]

    def find(self, channel: int, direction: int) -> ReadingColumns | None:
        for distance in range(1, self.max_days + 1):
            neighbour = self.file(self.day + timedelta(days=direction * distance))
            if neighbour is None:
                continue
            try:
                cols = (neighbour.previous if direction < 0 else neighbour.next)(self.device, channel, self.zone)
            except PermanentError:
                logger.warning("neighbour file of %s unreadable; its boundary hours wait for its own load", self.day)
                cols = None
            if cols is not None:
                return cols
        return None


def _has_energy(cols: ReadingColumns, device: str, channel: int) -> bool:
    rows = cols.rows(device, channel)
    return bool(rows.size) and any(bool(c[rows].any()) for c in cols.carries())


def _landed_before(store: ObjectStore, event: FinalizedObject, day: date, device: str) -> FinalizedObject | None:
    """For a manifest's finalize event: the finalize of its readings file, when that file landed before this
    manifest (a lower generation: its own event found the older manifest and ended as `mismatch`) and matches it.
    None otherwise (the usual order, manifest first: the readings file's own event loads it)."""
    name = daily_readings_key(day, device)
    head = store.head(name)
    if head is None or _compare_generations(head.generation, event.generation) >= 0:
        return None  # not an older generation (or generations that do not compare)
    data = _get(store, name)
    try:
        if data is None or _verify(store, day, device, data) is not None:
            return None
    except (TransientError, PermanentError):
        return None
    return FinalizedObject(event.bucket, name, head.generation, event.event_time, event.event_id)


def _verify(store: ObjectStore, day: date, device: str, data: bytes) -> str | None:
    """None when `data` matches its manifest; else why not (a permanent outcome). Raises TransientError while the
    manifest is missing or unreadable, PermanentError when it describes another folder."""
    key = daily_manifest_key(day, device)
    raw = _get(store, key)
    if raw is None:
        raise TransientError(f"{key} has not arrived yet; retrying until it does (or the event ages out)")
    try:
        manifest = DailyManifest.model_validate_json(raw)
    except ValidationError as exc:
        raise TransientError(f"{key} is not a valid manifest (being replaced?): {exc.error_count()} errors") from exc
    if manifest.device_id != device or manifest.date != day.isoformat():
        raise PermanentError(f"{key} describes {manifest.device_id} on {manifest.date}, not its own folder")
    digest = hashlib.sha256(data).hexdigest()
    if manifest.bytes != len(data) or manifest.sha256 != digest:
        return (
            f"{daily_readings_key(day, device)} ({len(data)} B, sha256 {digest[:12]}…) does not match its manifest "
            f"({manifest.bytes} B, sha256 {manifest.sha256[:12]}…): not loaded"
        )
    return None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
