"""One detection run: choose the window, read, detect, publish new states, record them in the ledger.

Called by the `detect` Cloud Function (energy.updated or the scheduler), by the local stack and by tests.
The window always covers every device (a site outage needs them all) from `lookback` before the touched
period — or from the earliest alert still open, so it can be seen to end — up to `now`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from wattline.alerts.detect import ResetLike, detect_all
from wattline.alerts.ledger import AlertStore, plan_transitions
from wattline.alerts.model import Alert, Notification
from wattline.alerts.thresholds import Thresholds
from wattline.errors import PermanentError
from wattline.models import HourlyEnergy, Reading
from wattline.ports import Publisher

logger = logging.getLogger(__name__)


class ReadingsSource(Protocol):
    def readings(self, start: datetime, end: datetime) -> list[Reading]: ...

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]: ...


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
        try:
            body = json.loads(data) if data.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise PermanentError(f"detect trigger is not JSON: {data[:80]!r}") from exc
        if not isinstance(body, dict) or body.get("event") != "energy.updated":
            return cls()
        return cls(
            touched_from=_ts(body.get("hours_from")),
            touched_to=_ts(body.get("hours_to")),
            device_id=body.get("device_id"),
            trigger="energy.updated",
        )


def _ts(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"energy.updated carries a bad timestamp {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DetectOptions:
    thresholds: Thresholds
    tz: ZoneInfo
    topic: str = "alerts"
    lookback: timedelta = timedelta(hours=48)
    max_window: timedelta = timedelta(days=7)
    baseline: timedelta = timedelta(weeks=8)
    max_gap_s: float = 300.0  # the energy engine's gap rule, for counter resets
    max_power_w: float = 25_000.0


@dataclass
class DetectReport:
    start: datetime
    end: datetime
    readings: int = 0
    alerts: list[Alert] = field(default_factory=list)
    published: list[Notification] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "window": [self.start.isoformat(), self.end.isoformat()],
            "readings": self.readings,
            "alerts": len(self.alerts),
            "published": [n.token for n in self.published],
        }


def detection_window(
    request: DetectRequest, open_rows: Sequence[Any], options: DetectOptions, now: datetime
) -> tuple[datetime, datetime]:
    start = (request.touched_from or now) - options.lookback
    for row in open_rows:
        start = min(start, row.start_ts - timedelta(minutes=1))
    return max(start, now - options.max_window), now


def counter_resets(readings: Sequence[Reading], options: DetectOptions) -> list[ResetLike]:
    from wattline.energy import compute_hourly

    result = compute_hourly(readings, tz=options.tz, max_gap_s=options.max_gap_s, max_power_w=options.max_power_w)
    return [r for r in result.resets if getattr(r, "kind", "reset") in ("reset", "jump")]


def run_detect(
    request: DetectRequest,
    *,
    source: ReadingsSource,
    store: AlertStore,
    publisher: Publisher,
    options: DetectOptions,
    now: datetime,
) -> DetectReport:
    open_rows = store.open_rows()
    start, end = detection_window(request, open_rows, options, now)
    readings = source.readings(start, end)
    hours = source.hourly(start - options.baseline, end)
    report = DetectReport(start=start, end=end, readings=len(readings))
    report.alerts = detect_all(
        readings,
        thresholds=options.thresholds,
        tz=options.tz,
        open_until=now,
        resets=counter_resets(readings, options),
        hourly=[h for h in hours if h.hour_start >= start],
        history=hours,  # each hour is judged against the earlier ones only
        coverage_from=start,
    )
    plan = plan_transitions(store, report.alerts, now=now, open_rows=open_rows, window_start=start)
    for notification in plan.notifications:  # publish first, then record (see wattline.alerts.ledger)
        publisher.publish(options.topic, notification.to_json(), notification.attributes())
    store.save(plan.rows)
    report.published = plan.notifications
    logger.info("alerts detected", extra={"detect": report.summary()})
    return report
