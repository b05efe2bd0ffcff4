"""Validate one raw object on arrival: quarantine what cannot be read, with its reason; mark late data."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from wattline import keys
from wattline.aggregation.common import is_aggregatable_device, reference_now_ms
from wattline.models import QuarantineRecord
from wattline.parsing.batch import ParsedBatch, parse_object
from wattline.parsing.gc import paused_gc
from wattline.ports import ObjectStore


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


def validate_object(
    store: ObjectStore, key: str, *, keep: Callable[[str, bytes, ParsedBatch], None] | None = None
) -> ValidationResult:
    """Parse every envelope of one raw object; write the invalid ones to quarantine; mark late data dirty.

    A message whose readings name a device other than its partition's (the device its topic names) is quarantined
    as device_mismatch, as the aggregator does.

    Valid envelopes stay where they are (the aggregator reads them). The quarantine key is derived from the source
    key and the output bytes only from the object's content, so a re-run writes the same object again. Raises
    `NotFoundError` when the object is gone and `TransientError` when the store fails; never raises on bad data.

    `keep`, when given, is called with the key, the bytes and what they parsed to, for an object of an aggregatable
    partition: its aggregation in the same process may take them (`aggregate_day`'s `validated`).
    """
    data = store.get(key)
    location = keys.parse_raw_key(key)
    now_ms = reference_now_ms(location[0]) if location else int(time.time() * 1000)
    partition = location[1] if location is not None and is_aggregatable_device(location[1]) else None
    with paused_gc():
        parsed = parse_object(data, source_key=key, now_ms=now_ms, device_id=partition)
    if keep is not None and partition is not None:
        keep(key, data, parsed)
    records = [record for _index, record in parsed.quarantined]
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
    if location is not None and is_aggregatable_device(location[1]):
        partition_day, partition_device = location[0], location[1]
        if store.head(keys.daily_readings_key(partition_day, partition_device)) is not None:
            store.put(keys.dirty_key(partition_day, partition_device), key.encode("utf-8"), content_type="text/plain")
            late = True
    return ValidationResult(
        source_key=key,
        received=parsed.messages,
        valid=parsed.messages - len(records),
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
        return day, device_id if is_aggregatable_device(device_id) else None, name
    times = [record.received_ms for record in records if record.received_ms is not None]
    moment = datetime.fromtimestamp(min(times) / 1000, tz=UTC) if times else datetime.now(UTC)
    devices = {record.device_id for record in records if record.device_id}
    return moment.date(), devices.pop() if len(devices) == 1 else None, name
