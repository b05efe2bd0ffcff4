"""The near-real-time watchdog: a meter that stops talking raises `offline` (reason `silent`) — or, when every meter
of the site stopped at once, one site `outage` (reason `site_silent`) — within minutes, not after the daily batch.

Silence produces no object, so no S3 event: a schedule (every 5 minutes on AWS) runs `run_watchdog`. It reads each
device's newest raw objects, parses them exactly as `validate` and `aggregate` do, and hands the readings to the
batch detector `detect_silence`. The alerts therefore carry the batch path's dedup keys (same detector, same
readings around the moment the meter fell silent), and the batch `detect` later records them and resolves them;
its `opened` for the same key is dropped by the subscribers' delivery log.

Time: the wall clock says when the watchdog looks; data is known only up to `now - delivery_lag_s` (raw objects
land within seconds in direct mode, up to the Firehose buffer interval in firehose mode), so that is `open_until`.

Only open alerts with reason `silent`/`site_silent` are published (an MQTT last will is `validate`'s job, closed
conditions the batch path's). A marker `state/watchdog/<alert key>` remembers what was published so a dead meter
is not announced every 5 minutes; it is written after the publish (a crash in between publishes once more, and the
subscribers drop the repeat).

S3 requests stay few however busy a meter is: devices come from delimiter listings of `raw/dt=<today>/` and
`raw/dt=<yesterday>/`; a device's newest objects from `StartAfter` listings that start `window_s` before now (direct
IoT keys begin with the receive time in ms, so they sort by it) and step back in widening windows only while no
object that counts as a message was found. A 1 Hz meter writes 86,400 objects a day; a run lists the last two
minutes of a live one, and a few pages of a silent one, never the whole day.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wattline import keys
from wattline.aggregation import INVALID_DEVICE_SEGMENT, child_prefixes, list_keys, reference_now_ms
from wattline.alerts.detect import detect_silence
from wattline.alerts.model import Alert, AlertEvent, Notification
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns
from wattline.models import Reading
from wattline.parsing import parse_object
from wattline.ports import ObjectStore, Publisher

logger = logging.getLogger(__name__)

SILENCE_REASONS = frozenset({"silent", "site_silent"})
PAGE = 1000  # keys per listing request (the S3 maximum)
DAY_MS = 86_400_000


@dataclass(frozen=True)
class WatchdogOptions:
    thresholds: Thresholds
    tz: ZoneInfo
    delivery_lag_s: float  # raw objects are complete up to this long before now (RealtimeSettings has the default)
    topic: str = "alerts"
    days: int = 2  # UTC day partitions searched for devices: today and yesterday
    window_s: float = 120.0  # first listing window before now; widened x4 per step back through quiet time
    objects: int = 3  # newest objects read per device ...
    max_objects: int = 30  # ... and further back, up to this many, until one holds a message that is not a last will


@dataclass
class WatchdogReport:
    now: datetime
    devices: list[str] = field(default_factory=list)
    objects: int = 0
    readings: int = 0
    alerts: list[Alert] = field(default_factory=list)  # the open silence alerts found
    published: list[str] = field(default_factory=list)  # tokens published by this run
    already: list[str] = field(default_factory=list)  # tokens a previous run published (marker present)
    failed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "devices": len(self.devices),
            "objects": self.objects,
            "readings": self.readings,
            "alerts": [alert.key for alert in self.alerts],
            "published": self.published,
            "already_published": self.already,
            "failed": self.failed,
        }


def run_watchdog(
    store: ObjectStore, publisher: Publisher, *, options: WatchdogOptions, now: datetime
) -> WatchdogReport:
    """Publish every open silence alert not published before. Raises the first publish failure after trying all
    (the failed run is visible; the next scheduled run retries); the alerts published before it are marked."""
    report = WatchdogReport(now=now)
    readings = newest_readings(store, now, options, report)
    known_until = now - timedelta(seconds=options.delivery_lag_s)
    report.alerts = silence_alerts(readings, thresholds=options.thresholds, tz=options.tz, until=known_until)
    errors: list[Exception] = []
    for alert in report.alerts:
        notification = Notification(event=AlertEvent.OPENED, alert=alert, source="realtime")
        marker = keys.watchdog_marker_key(alert.key)
        if store.head(marker) is not None:
            report.already.append(notification.token)
            continue
        try:
            message_id = publisher.publish(options.topic, notification.to_json(), notification.attributes())
        except Exception as exc:
            logger.warning("watchdog alert not published", extra={"token": notification.token, "error": str(exc)})
            report.failed.append(notification.token)
            errors.append(exc)
            continue
        record = {"token": notification.token, "message_id": message_id, "published_at": now.isoformat()}
        store.put(marker, json.dumps(record, sort_keys=True).encode(), content_type="application/json")
        report.published.append(notification.token)
    logger.info("watchdog ran", extra={"watchdog": report.summary()})
    if errors:
        raise errors[0]
    return report


def silence_alerts(
    readings: Sequence[Reading], *, thresholds: Thresholds, tz: ZoneInfo, until: datetime
) -> list[Alert]:
    """The open `silent` / `site_silent` alerts the batch detector finds in these readings, known up to `until`.

    On a site of several meters a meter's own silence is held back until it is longer than `offline_s +
    site_onset_s`: only then is it settled whether the others fall silent with it (one site outage, the meter's
    alert folded into it, as the batch path will see it) or not. Published earlier, it could be a key the batch
    path never records, so never resolved.
    """
    site = len({reading.device_id for reading in readings}) >= max(2, thresholds.site_min_devices)
    settled = timedelta(seconds=thresholds.offline_s + thresholds.site_onset_s)
    return [
        alert
        for alert in detect_silence(
            ReadingColumns.from_readings(readings), thresholds=thresholds, tz=tz, open_until=until
        )
        if alert.is_open
        and alert.details.get("reason") in SILENCE_REASONS
        and not (site and alert.details["reason"] == "silent" and until - alert.start <= settled)
    ]


def newest_readings(
    store: ObjectStore, now: datetime, options: WatchdogOptions, report: WatchdogReport | None = None
) -> list[Reading]:
    """The readings of each device's newest raw objects (see the module docstring for which), parsed as the
    aggregator parses them (timestamps judged against the end of the object's UTC day)."""
    now_ms = int(now.timestamp() * 1000)
    days = [(now.astimezone(UTC) - timedelta(days=offset)).date() for offset in range(options.days)]
    out: list[Reading] = []
    for device_id, device_days in devices(store, days).items():
        read = 0
        alive = False
        for day, key in _newest_first(store, device_id, device_days, now_ms, round(options.window_s * 1000)):
            outcomes = parse_object(store.get(key), source_key=key, now_ms=reference_now_ms(day))
            found = [reading for outcome in outcomes for reading in outcome.readings]
            out += found
            read += 1
            alive = alive or any(not (r.channel is None and r.online is False) for r in found)
            if (alive and read >= options.objects) or read >= options.max_objects:
                break
        if report is not None:
            report.devices.append(device_id)
            report.objects += read
    if report is not None:
        report.readings = len(out)
    return out


def devices(store: ObjectStore, days: Sequence[date]) -> dict[str, list[date]]:
    """Device id → the days (in the given order) with raw objects of it (delimiter listings: one request a day)."""
    found: dict[str, list[date]] = {}
    for day in days:
        day_prefix = f"{keys.RAW_PREFIX}dt={day.isoformat()}/"
        for child in child_prefixes(store, day_prefix):
            segment = child[len(day_prefix) :].rstrip("/")
            device_id = segment.removeprefix("device=")
            if (
                segment.startswith("device=")
                and device_id != INVALID_DEVICE_SEGMENT
                and keys.is_safe_device_id(device_id)
            ):
                found.setdefault(device_id, []).append(day)
    return dict(sorted(found.items()))


def _newest_first(
    store: ObjectStore, device_id: str, days: Sequence[date], now_ms: int, window_ms: int
) -> Iterator[tuple[date, str]]:
    """(day, key) of the device's raw objects, newest first, over `days` (newest first), fetched lazily.

    The first listing of a day holds every object received in the last `window_ms`; then windows step back from
    there, four times longer after each empty one, a page (1,000 keys) at most each. Names that carry no receive
    time (Firehose, the bridge's batches) sort after every timed name, so the first listing holds all of them;
    they come first, in reverse name order (their names grow with time too).
    """
    for day in days:
        prefix = keys.raw_prefix(day, device_id)
        day_start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
        upper = min(now_ms - window_ms, day_start + DAY_MS)  # every timed key at or after `upper` is handed out
        first = _keys_after(store, prefix, keys.raw_start_after(day, device_id, upper), None)
        for key in [*reversed([k for k in first if _received_ms(k) is None]), *reversed(_timed(first, None))]:
            yield day, key
        step = window_ms
        while upper > day_start:
            low = max(upper - step, day_start)
            inside = _timed(_keys_after(store, prefix, keys.raw_start_after(day, device_id, low), PAGE), upper)
            if len(inside) == PAGE and step > 1000:
                # A full page: the window's newest keys may lie beyond it. Try a shorter one, starting no earlier
                # than the last key listed (nothing before it can be the newest).
                step = max(1000, min(step // 4, upper - (_received_ms(inside[-1]) or low)))
                continue
            for key in reversed(inside):
                yield day, key
            upper = low
            if not inside:
                step *= 4


def _timed(listed: Sequence[str], before: int | None) -> list[str]:
    """The keys named by receive time, received before `before` (ms) when given, in listing order."""
    return [
        key for key in listed if (received := _received_ms(key)) is not None and (before is None or received < before)
    ]


def _received_ms(key: str) -> int | None:
    return keys.raw_received_ms(key.rpartition("/")[2])


def _keys_after(store: ObjectStore, prefix: str, start_after: str, limit: int | None) -> list[str]:
    """Keys under `prefix` after `start_after` in key order; the store's StartAfter listing when it has one."""
    lister = getattr(store, "list_keys_after", None)
    if lister is not None:
        found: list[str] = lister(prefix, start_after, limit=limit)
        return found
    after = [key for key in list_keys(store, prefix) if key > start_after]
    return after if limit is None else after[:limit]
