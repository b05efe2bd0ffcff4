"""Alerts: detection of gaps, outages, spikes, counter resets and voltage excursions; the dedup ledger;
notification rendering and delivery. Pure domain code: collaborators (Warehouse, Publisher, sinks) come in
as parameters. See docs/alerts.md.

Public API:
- detect.detect_all(readings: ReadingColumns, *, thresholds, tz, open_until=None, resets=(), hourly=(), history=(),
                    coverage_from=None) -> list[Alert]
- model.Alert, AlertKind, Severity, AlertEvent, Notification, alert_key(kind, device_id, channel, start)
- ledger.record_alerts(warehouse, alerts, *, now) -> list[Notification]   (dedup + resolve transitions)
- deliver.deliver(notification, sink, log, policy, *, now) -> DeliveryOutcome   (subscriber side, once per token)
"""

from wattline.alerts.model import SITE, Alert, AlertEvent, AlertKind, Notification, Severity, alert_key
from wattline.alerts.thresholds import Thresholds

__all__ = ["SITE", "Alert", "AlertEvent", "AlertKind", "Notification", "Severity", "Thresholds", "alert_key"]
