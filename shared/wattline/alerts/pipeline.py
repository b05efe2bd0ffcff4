"""One detection run: find the freshness watermarks, choose the windows, read, detect, publish new states,
record them in the ledger.

Called by the `detect` Cloud Function (energy.updated or the scheduler), by the local stack and by tests.
Time has two meanings here: `now` (the wall clock) only stamps the ledger; how far the data is known comes from
the watermarks — per device, the end of the newest UTC day whose daily file was loaded (`freshness`), or, with
`watermark = "newest_reading"` (the local runtime; a cloud deployment whose near-real-time watchdog judges silence
now), no later than the newest reading of any device of the site. Silence after a device's watermark is "not yet
known", never offline.
A window always covers every device (a site outage needs them all) from `lookback` before the touched period —
or from the earliest alert still open, so it can be seen to end — to `max_window` after it (so a silence in
backfilled history is seen to its end), never past the newest delivered data. Touched periods longer than
`max_window` (a backfill) are detected in consecutive windows of at most that length.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from wattline import defaults
from wattline.alerts.detect import ResetLike, detect_all
from wattline.alerts.ledger import AlertStore, LedgerRow, plan_transitions
from wattline.alerts.model import SITE, Alert, Notification
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns
from wattline.formats.messages import ENERGY_UPDATED, EnergyUpdated
from wattline.models import HourlyEnergy
from wattline.ports import Publisher

logger = logging.getLogger(__name__)
HOUR = timedelta(hours=1)


class ReadingsSource(Protocol):
    def columns(self, start: datetime, end: datetime) -> ReadingColumns:
        """Every reading of every device with start <= ts < end (device-level ones too), as columns."""
        ...

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]: ...

    def delivered_days(self) -> dict[str, date]:
        """Per device, the newest UTC day whose daily file was loaded."""
        ...


@dataclass(frozen=True)
class DetectRequest:
    """What to look at: the touched period (energy.updated) or nothing (a scheduled run: just `now`)."""

    touched_from: datetime | None = None
    touched_to: datetime | None = None
    device_id: str | None = None
    trigger: str = "schedule"

    @classmethod
    def from_message(cls, data: bytes) -> DetectRequest:
        """Parse an energy.updated JSON, or any other payload (the scheduler's) as a scheduled run."""
        message = EnergyUpdated.from_bytes(data)
        if message is None:
            return cls()
        return cls(
            touched_from=message.hours_from,
            touched_to=message.hours_to,
            device_id=message.device_id,
            trigger=ENERGY_UPDATED,
        )


@dataclass(frozen=True)
class DetectOptions:
    thresholds: Thresholds
    tz: ZoneInfo
    topic: str = "alerts"
    lookback: timedelta = timedelta(hours=48)
    max_window: timedelta = timedelta(days=7)
    baseline: timedelta = timedelta(weeks=8)
    max_gap_s: float = defaults.MAX_GAP_S  # the energy engine's gap rule, for counter resets
    max_power_w: float = defaults.MAX_POWER_W
    notify_max_age: timedelta = timedelta(hours=24)  # older conditions are recorded, not sent
    watermark: Literal["delivered_day", "newest_reading"] = "delivered_day"


@dataclass
class DetectReport:
    start: datetime
    end: datetime
    watermark: datetime | None = None  # the newest delivered data (None: nothing loaded yet)
    readings: int = 0
    alerts: list[Alert] = field(default_factory=list)
    published: list[Notification] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "window": [self.start.isoformat(), self.end.isoformat()],
            "watermark": None if self.watermark is None else self.watermark.isoformat(),
            "readings": self.readings,
            "alerts": len(self.alerts),
            "published": [n.token for n in self.published],
        }


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def freshness(delivered: Mapping[str, date], now: datetime) -> dict[str, datetime]:
    """Each device's watermark: the end of its newest loaded UTC day — or, for a device behind the rest of the site,
    the end of the day before the site's newest (that day was complete for the site: a file that would exist does,
    so a meter with none for it was silent). Never after `now`."""
    if not delivered:
        return {}
    site_floor = _day_end(max(delivered.values()) - timedelta(days=1))
    return {device: min(max(_day_end(day), site_floor), now) for device, day in sorted(delivered.items())}


def detection_windows(
    request: DetectRequest, open_rows: Sequence[LedgerRow], options: DetectOptions, newest: datetime
) -> list[tuple[datetime, datetime]]:
    """The [start, end) windows to read for the request (see the module docstring), oldest first."""
    if request.touched_from is None:
        spans = [(newest, newest)]  # a scheduled tick: the newest delivered data
    else:
        last = max((request.touched_to or request.touched_from) + HOUR, request.touched_from)
        spans = []
        first = request.touched_from
        while True:
            spans.append((first, min(first + options.max_window, last)))
            first += options.max_window
            if first >= last:
                break
    windows = []
    for span_start, span_end in spans:
        start = span_start - options.lookback
        for row in open_rows:
            start = min(start, row.start_ts - timedelta(minutes=1))
        start = max(start, span_start - options.max_window)
        windows.append((start, max(min(span_end + options.max_window, newest), span_end)))
    return windows


def counter_resets(readings: ReadingColumns, options: DetectOptions) -> list[ResetLike]:
    """The counter resets and jumps the energy engine finds, channel by channel in (device, channel) order."""
    from wattline.loader import channel_energy

    found: list[ResetLike] = []
    for device, channel in readings.channel_keys():
        result = channel_energy(
            readings,
            device,
            channel,
            tz=options.tz,
            max_gap_s=options.max_gap_s,
            max_power_w=options.max_power_w,
            rows=readings.rows(device, channel),
        )
        found += [r for r in result.resets if r.kind in ("reset", "jump")]
    return found


def run_detect(
    request: DetectRequest,
    *,
    source: ReadingsSource,
    store: AlertStore,
    publisher: Publisher,
    options: DetectOptions,
    now: datetime,
) -> DetectReport:
    marks = freshness(source.delivered_days(), now)
    newest = max(marks.values(), default=None)
    open_rows = store.open_rows()
    windows = detection_windows(request, open_rows, options, newest or now)
    report = DetectReport(start=windows[0][0], end=windows[-1][1], watermark=newest)
    for start, end in windows:
        readings = source.columns(start, end)
        until = {device: mark if mark <= end else None for device, mark in marks.items()}
        if options.watermark == "newest_reading" and len(readings) and newest is not None and end >= newest:
            # the site's data ends here, whatever the day's length
            seen = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(readings.ts_us.max()))
            until = {device: None if mark is None else min(mark, seen) for device, mark in until.items()}
        hours = source.hourly(start - options.baseline, end)
        report.readings += len(readings)
        alerts = detect_all(
            readings,
            thresholds=options.thresholds,
            tz=options.tz,
            open_until=until,
            resets=counter_resets(readings, options),
            hourly=[h for h in hours if h.hour_start >= start],
            history=hours,  # each hour is judged against the earlier ones only
            coverage_from=start,
        )
        plan = plan_transitions(
            store,
            alerts,
            now=now,
            open_rows=open_rows,
            window_start=start,
            judged=partial(_judged, until=until),
            quiet_before=(newest or now) - options.notify_max_age,
            incident_slack=timedelta(seconds=options.thresholds.site_onset_s),
        )
        for notification in plan.notifications:  # publish first, then record (see wattline.alerts.ledger)
            publisher.publish(options.topic, notification.to_json(), notification.attributes())
        store.save(plan.rows)
        report.alerts += alerts
        report.published += plan.notifications
        if len(windows) > 1:
            open_rows = store.open_rows()
    logger.info("alerts detected", extra={"detect": report.summary()})
    return report


def _judged(row: LedgerRow, until: Mapping[str, datetime | None]) -> bool:
    """The window reaches the watermark of the row's device (of every device, for the site)."""
    if row.device_id == SITE:
        return bool(until) and all(mark is not None for mark in until.values())
    return until.get(row.device_id) is not None
