"""Rebuild `energy_hourly` from the daily files alone, and report (optionally repair) what the warehouse holds.

The daily files in the GCS bucket (`daily/dt=…/device=…/readings.jsonl.gz` and their manifests) are the source
of truth for energy. `rebuild_energy` runs the loader's own per-file computation
(`wattline.loader.load_daily_file`) over every daily file in range, into an in-memory collector instead of the
warehouse and with a publisher that discards `energy.updated`: the same verification, the same neighbour
boundary hours, the same engine, the same settings. It then compares those rows with `energy_hourly`:

- `missing`: a rebuilt row the warehouse does not hold;
- `differing`: both hold the key and a value differs (floats to 1e-9 relative, ints and strings exactly;
  `loaded_at` and `source_generation` are provenance and ignored);
- `extra`: a warehouse row the daily files do not give.

`apply=True` MERGEs the missing and differing rows (as the loader does, `source_generation` included) and deletes
an extra row only when its device has a daily file that loaded for the row's local day (an hour the source of
truth says is not there); other extra rows are reported and kept. Nothing is deleted without being listed.

Pure domain: the ObjectStore and (Admin)Warehouse ports come in; the SQL is the BigQuery-dialect query
`sql/queries/energy_hourly_range.sql`, so it runs on BigQuery and DuckDB alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.keys import READINGS_FILE, parse_daily_key
from wattline.loader import (
    ENERGY_KEY,
    ENERGY_TABLE,
    FinalizedObject,
    LoaderOptions,
    LoadStatus,
    load_daily_file,
)
from wattline.models import HourlyEnergy
from wattline.ports import ObjectStore, Warehouse
from wattline.warehouse import AdminWarehouse

Key = tuple[str, int, datetime]

COMPARED_FIELDS = tuple(name for name in HourlyEnergy.model_fields if name not in ENERGY_KEY)
REL_TOL = 1e-9
ABS_TOL = 1e-12  # two zeros written differently (0.0 vs 1e-17) are equal energy
_DAILY_PREFIX = "daily/"
_FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
_FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass
class RebuildReport:
    """What the rebuild compared and found; `rows` lists every difference with both sides' values."""

    compared: int = 0
    differing: int = 0
    missing: int = 0
    extra: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)  # daily files the loader would not load
    applied: bool = False
    merged: int = 0
    deleted: int = 0
    kept_extra: int = 0  # extra rows left in place: no daily file of theirs loaded

    @property
    def clean(self) -> bool:
        return not (self.differing or self.missing or self.extra)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "compared": self.compared,
            "differing": self.differing,
            "missing": self.missing,
            "extra": self.extra,
            "rows": self.rows,
            "files": self.files,
            "skipped": self.skipped,
        }
        if self.applied:
            body["applied"] = {"merged": self.merged, "deleted": self.deleted, "kept_extra": self.kept_extra}
        return body


class _Collector:
    """A Warehouse that only keeps what the loader MERGEs, by key (a later MERGE of a key replaces it)."""

    def __init__(self) -> None:
        self.rows: dict[Key, dict[str, Any]] = {}

    def ensure_schema(self) -> None:
        return None

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        raise PermanentError("the rebuild collector answers no queries")

    def merge_rows(self, table: str, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> int:
        for row in rows:
            self.rows[_key(row)] = dict(row)
        return len(rows)


class _Discard:
    """A Publisher that sends nothing: a rebuild announces no `energy.updated`."""

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        return ""


def _key(row: Mapping[str, Any]) -> Key:
    start = row["hour_start"]
    if not isinstance(start, datetime):
        start = datetime.fromisoformat(str(start))
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    return (str(row["device_id"]), int(row["channel"]), start)


def _day_start(day: date, options: LoaderOptions) -> datetime:
    return datetime.combine(day, time(), tzinfo=options.zone).astimezone(UTC)


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return bool(a == b)


def _values(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {name: row.get(name) for name in COMPARED_FIELDS}


def _difference(
    kind: str, key: Key, warehouse: Mapping[str, Any] | None, rebuilt: Mapping[str, Any] | None
) -> dict[str, Any]:
    fields = (
        [name for name in COMPARED_FIELDS if not _equal(warehouse.get(name), rebuilt.get(name))]
        if warehouse is not None and rebuilt is not None
        else list(COMPARED_FIELDS)
    )
    return {
        "kind": kind,
        "device_id": key[0],
        "channel": key[1],
        "hour_start": key[2].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "fields": fields,
        "warehouse": _values(warehouse),
        "rebuilt": _values(rebuilt),
    }


def recompute_energy(
    store: ObjectStore,
    options: LoaderOptions,
    *,
    start: date | None = None,
    end: date | None = None,
) -> tuple[dict[Key, dict[str, Any]], set[tuple[str, date]], RebuildReport]:
    """The loader's rows for every daily file of local days start..end (plus `neighbour_days` either side, so
    every hour of the range is computed as the loader computes it), the (device, day)s whose file loaded, and a
    report holding the file counts and the files skipped (mismatch, missing manifest, unreadable)."""
    low = None if start is None else start - timedelta(days=options.neighbour_days)
    high = None if end is None else end + timedelta(days=options.neighbour_days)
    collector, publisher, report = _Collector(), _Discard(), RebuildReport()
    loaded: set[tuple[str, date]] = set()
    for info in store.list(_DAILY_PREFIX):
        parsed = parse_daily_key(info.key)
        if parsed is None or parsed[2] != READINGS_FILE:
            continue
        day, device, _ = parsed
        if (low is not None and day < low) or (high is not None and day > high):
            continue
        report.files += 1
        event = FinalizedObject(store.name, info.key, info.generation)
        try:
            result = load_daily_file(event, store=store, warehouse=collector, publisher=publisher, options=options)
        except (TransientError, PermanentError) as exc:
            report.skipped.append({"object": info.key, "reason": str(exc)})
            continue
        if result.status in (LoadStatus.LOADED, LoadStatus.EMPTY):
            loaded.add((device, day))
        else:
            report.skipped.append({"object": info.key, "reason": f"{result.status.value}: {result.detail}"})
    return collector.rows, loaded, report


def warehouse_energy(warehouse: Warehouse, low: datetime, high: datetime) -> dict[Key, dict[str, Any]] | None:
    """`energy_hourly` rows with low <= hour_start < high, by key; None when the table does not exist."""
    from wattline.warehouse.schema import query_text

    try:
        rows = warehouse.query(query_text("energy_hourly_range"), {"start_ts": low, "end_ts": high})
    except NotFoundError:
        return None
    return {_key(row): row for row in rows}


def rebuild_energy(
    store: ObjectStore,
    warehouse: AdminWarehouse,
    options: LoaderOptions,
    *,
    start: date | None = None,
    end: date | None = None,
    apply: bool = False,
) -> RebuildReport:
    """Recompute energy_hourly for local days start..end (default: every day) from the daily files, compare it
    with the warehouse and, with `apply`, repair the warehouse (see the module docstring)."""
    if start is not None and end is not None and end < start:
        raise PermanentError(f"--to {end} is before --from {start}")
    low = _FAR_PAST if start is None else _day_start(start, options)
    high = _FAR_FUTURE if end is None else _day_start(end + timedelta(days=1), options)
    rebuilt_all, loaded, report = recompute_energy(store, options, start=start, end=end)
    rebuilt = {key: row for key, row in rebuilt_all.items() if low <= key[2] < high}
    held = warehouse_energy(warehouse, low, high)
    present = held or {}

    report.compared = len(rebuilt)
    repairs: list[dict[str, Any]] = []
    for key in sorted(rebuilt):
        ours, theirs = rebuilt[key], present.get(key)
        if theirs is None:
            report.missing += 1
            report.rows.append(_difference("missing", key, None, ours))
            repairs.append(ours)
        elif any(not _equal(theirs.get(name), ours.get(name)) for name in COMPARED_FIELDS):
            report.differing += 1
            report.rows.append(_difference("differing", key, theirs, ours))
            repairs.append(ours)
    extras = sorted(key for key in present if key not in rebuilt)
    extra_rows: dict[Key, dict[str, Any]] = {}
    for key in extras:
        report.extra += 1
        extra_rows[key] = _difference("extra", key, present[key], None)
        report.rows.append(extra_rows[key])
    if not apply:
        return report

    report.applied = True
    if held is None:
        warehouse.ensure_schema()  # a deleted warehouse: create its objects, then rebuild everything
    if repairs:
        report.merged = warehouse.merge_rows(ENERGY_TABLE, repairs, key=list(ENERGY_KEY))
    for row in report.rows:
        row["action"] = "merged"
    for key in extras:
        if (key[0], key[2].astimezone(options.zone).date()) not in loaded:
            report.kept_extra += 1
            extra_rows[key]["action"] = "kept: no daily file of its device and local day loaded"
            continue
        warehouse.replace_rows(ENERGY_TABLE, [], {"device_id": key[0], "channel": key[1], "hour_start": key[2]})
        report.deleted += 1
        extra_rows[key]["action"] = "deleted: its day's daily file does not give it"
    return report
