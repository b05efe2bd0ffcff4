"""What the aggregator's stages share: the device segments it refuses, the dedup window, the state key, the
parsers' reference "now" for a partition, and listing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from wattline import keys
from wattline.ports import ObjectStore

INVALID_DEVICE_SEGMENT = keys.INVALID_DEVICE_SEGMENT
"""The device segment the bridge writes when a topic names an unsafe device id (validate quarantines the object)."""

DEFAULT_DEDUP_WINDOW_MS = 2_000
"""Gen1 and Gen2 status/online messages with identical topic and payload this close together are one delivery."""

STATE_PREFIX = keys.AGGREGATED_STATE_PREFIX
aggregation_state_key = keys.aggregation_state_key


def reference_now_ms(day: date) -> int:
    """The "now" the parsers judge timestamps against for a raw partition: the end of its UTC day.

    Using the partition's day instead of the wall clock makes validate and aggregate deterministic (a re-run, or a
    run months later, quarantines exactly the same messages).
    """
    return int(datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC).timestamp() * 1000)


def is_aggregatable_device(device_id: str) -> bool:
    return device_id != INVALID_DEVICE_SEGMENT and keys.is_safe_device_id(device_id)


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
