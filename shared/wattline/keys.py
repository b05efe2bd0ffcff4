"""Object-key layout, in one place. Every key is deterministic so that re-runs overwrite, never duplicate."""

from __future__ import annotations

import re
from datetime import date

RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"
DAILY_PREFIX = "daily/"
DIRTY_PREFIX = "state/dirty/"
WATCHDOG_PREFIX = "state/watchdog/"
AGGREGATED_STATE_PREFIX = "state/aggregated/"
ARCHIVE_PREFIX = "archive/"
READINGS_FILE = "readings.jsonl.gz"
MANIFEST_FILE = "manifest.json"

# Device ids become path segments: letters, digits, '-', '_', '.', not starting with '.', at most 64 chars.
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")

# The direct IoT rule's object name: `<received_ms, 13 digits>-<uuid>.json`, so names sort by receive time.
_RECEIVED_NAME_RE = re.compile(r"^(\d{13})-")
_DAILY_RE = re.compile(r"^daily/dt=(\d{4}-\d{2}-\d{2})/device=([^/]+)/(readings\.jsonl\.gz|manifest\.json)$")
_RAW_RE = re.compile(r"^raw/dt=(\d{4}-\d{2}-\d{2})/device=([^/]+)/([^/]+)$")


def is_safe_device_id(device_id: str) -> bool:
    # fullmatch, not match with `$`: `$` also matches before a trailing newline.
    return bool(DEVICE_ID_RE.fullmatch(device_id)) and ".." not in device_id


GEN1_TOPIC_ROOT = "shellies"
"""The first topic level of Gen1 devices (`shellies/<id>/…`)."""
INVALID_DEVICE_SEGMENT = "_invalid"
"""The raw partition of messages whose topic names no safe device id (validate quarantines them)."""
RESERVED_DEVICE_IDS = frozenset({GEN1_TOPIC_ROOT, INVALID_DEVICE_SEGMENT})
"""Safe path segments that are never a device: the Gen1 topic root (`shellies/<id>/…`; the Gen2 rules skip it) and
the raw partition the rules use for topics naming no safe device id. A device named so is refused everywhere."""


def is_device_id(device_id: str) -> bool:
    """A safe path segment (`is_safe_device_id`) that is not reserved (`RESERVED_DEVICE_IDS`)."""
    return is_safe_device_id(device_id) and device_id not in RESERVED_DEVICE_IDS


def raw_prefix(day: date, device_id: str) -> str:
    return f"{RAW_PREFIX}dt={day.isoformat()}/device={device_id}/"


def raw_key(day: date, device_id: str, received_ms: int, unique: str) -> str:
    """The key the IoT rule writes: raw/dt=YYYY-MM-DD/device=<id>/<timestamp()>-<newuuid()>.json"""
    return f"{raw_prefix(day, device_id)}{received_ms}-{unique}.json"


def raw_received_ms(name: str) -> int | None:
    """The receive time (ms) a direct-mode raw object name starts with; None for other names (Firehose, bridge)."""
    match = _RECEIVED_NAME_RE.match(name)
    return int(match[1]) if match else None


def raw_start_after(day: date, device_id: str, received_ms: int) -> str:
    """The S3 `StartAfter` for the direct-mode objects of a device-day received at or after `received_ms`.

    Keys named by receive time sort after it; names that do not start with a digit (Firehose, the bridge's
    `batch-…`) sort after every digit and are always included.
    """
    return f"{raw_prefix(day, device_id)}{max(received_ms, 0):013d}"  # `<ms>-…` sorts after `<ms>`


def quarantine_key(day: date, device_id: str | None, source_name: str) -> str:
    return f"{QUARANTINE_PREFIX}dt={day.isoformat()}/device={device_id or '_unknown'}/{source_name}.jsonl"


def daily_dir(day: date, device_id: str) -> str:
    return f"{DAILY_PREFIX}dt={day.isoformat()}/device={device_id}/"


def daily_readings_key(day: date, device_id: str) -> str:
    return daily_dir(day, device_id) + READINGS_FILE


def daily_manifest_key(day: date, device_id: str) -> str:
    return daily_dir(day, device_id) + MANIFEST_FILE


def dirty_key(day: date, device_id: str) -> str:
    """Marker: this (device, day) got data after its daily file was written and must be re-aggregated."""
    return f"{DIRTY_PREFIX}dt={day.isoformat()}/device={device_id}"


def aggregation_state_key(day: date, device_id: str) -> str:
    """The aggregator's own record of a device-day: which raw objects the daily file holds, and its counts.

    It lets a re-aggregation after late data merge into the daily file once the archiver has moved the day's
    earlier raw objects away (see docs/aws.md, "Late data").
    """
    return f"{AGGREGATED_STATE_PREFIX}dt={day.isoformat()}/device={device_id}.json.gz"


def archive_prefix(day: date, device_id: str) -> str:
    """Where the archiver keeps one device-day's raw objects once its daily file is written."""
    return f"{ARCHIVE_PREFIX}dt={day.isoformat()}/device={device_id}/"


def watchdog_marker_key(alert_key: str) -> str:
    """Marker: the near-real-time watchdog published this alert key as `opened` (not again every run)."""
    return f"{WATCHDOG_PREFIX}{alert_key}"


def parse_daily_key(key: str) -> tuple[date, str, str] | None:
    """`daily/dt=…/device=…/<file>` → (day, device_id, file name), or None for any other key."""
    match = _DAILY_RE.match(key)
    if not match:
        return None
    return date.fromisoformat(match[1]), match[2], match[3]


def parse_raw_key(key: str) -> tuple[date, str, str] | None:
    """`raw/dt=…/device=…/<name>` → (day, device_id, name), or None for any other key."""
    match = _RAW_RE.match(key)
    if not match:
        return None
    return date.fromisoformat(match[1]), match[2], match[3]
