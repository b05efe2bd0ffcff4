"""The alert ledger: which keys were recorded and in which state, so each (key, event) is published once.

Transitions (`plan_transitions`):
- key never seen, end None  → record `open`, publish `opened`;
- key never seen, end set   → record `resolved`, publish `resolved` (a condition that came and went);
- key open, end now set     → record `resolved`, publish `resolved`;
- key open, still open      → refresh the record (numbers, message), publish nothing;
- key resolved              → nothing (a resolved key never reopens; a new episode has a new start, so a new key);
- key open, no longer detected although the window holds its start and its device's data is known to the
  watermark → resolved (`details.vanished`).

Alerts are grouped into incidents (wattline.alerts.incidents): only an incident's primary is published, with its
members; every member is still recorded under its own key, with `details.incident` naming the primary's key.
A condition first seen after it ended more than `notify_max_age` before the newest delivered data (a backfill) is
recorded with `details.notified = false` and not published.

Publish first, then record: a crash in between publishes again on the retry, and the subscribers' delivery
log drops the repeat (at-least-once, never lost).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from wattline.alerts.incidents import group_incidents
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity

OPEN = "open"
RESOLVED = "resolved"
# Ledger-only keys in a row's details (the table has no columns for them; `wattline alerts` shows them as fields).
INCIDENT = "incident"  # the key of the incident's primary alert (the row's own key when it leads)
NOTIFIED = "notified"  # false: recorded, never published (it had ended long before it was first seen)
_LEDGER_ONLY = (INCIDENT, NOTIFIED)


class LedgerRow(BaseModel):
    """One row of the `alerts` table (BigQuery reserves END, hence start_ts / end_ts)."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: str
    device_id: str
    channel: int | None
    start_ts: datetime
    end_ts: datetime | None
    severity: str
    message: str
    details: dict[str, Any]
    status: str
    first_seen: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        alert: Alert,
        *,
        status: str,
        first_seen: datetime,
        now: datetime,
        incident: str | None = None,
        notified: bool = True,
    ) -> LedgerRow:
        details = {**alert.details, INCIDENT: incident or alert.key}
        if not notified:
            details[NOTIFIED] = False
        return cls(
            key=alert.key,
            kind=alert.kind.value,
            device_id=alert.device_id,
            channel=alert.channel,
            start_ts=alert.start,
            end_ts=alert.end,
            severity=alert.severity.value,
            message=alert.message,
            details=details,
            status=status,
            first_seen=first_seen,
            updated_at=now,
        )

    @property
    def incident(self) -> str:
        return str(self.details.get(INCIDENT) or self.key)

    @property
    def notified(self) -> bool:
        return self.details.get(NOTIFIED) is not False

    def to_alert(self) -> Alert:
        return Alert(
            kind=AlertKind(self.kind),
            device_id=self.device_id,
            channel=self.channel,
            start=self.start_ts,
            end=self.end_ts,
            severity=Severity(self.severity),
            message=self.message,
            details={k: v for k, v in self.details.items() if k not in _LEDGER_ONLY},
        )

    def to_record(self) -> dict[str, Any]:
        """The warehouse row: details as JSON text (a STRING column; BigQuery JSON type is not portable)."""
        row = self.model_dump()
        row["details"] = json.dumps(self.details, sort_keys=True, separators=(",", ":"))
        return row

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> LedgerRow:
        data = dict(row)
        if isinstance(data.get("details"), str):
            data["details"] = json.loads(data["details"]) if data["details"] else {}
        return cls.model_validate(data)


class AlertStore(Protocol):
    """Where the ledger lives: the warehouse `alerts` table, or memory in tests."""

    def load(self, keys: Collection[str], since: datetime) -> dict[str, LedgerRow]:
        """Rows with one of `keys` (every key asked for has start_ts >= since)."""
        ...

    def save(self, rows: Sequence[LedgerRow]) -> None:
        """Insert or replace by key (idempotent)."""
        ...

    def open_rows(self) -> list[LedgerRow]:
        """Every alert still open."""
        ...

    def list(self, start: datetime, end: datetime) -> list[LedgerRow]:
        """Alerts whose start lies in [start, end), oldest first."""
        ...


@dataclass
class LedgerPlan:
    notifications: list[Notification] = field(default_factory=list)
    rows: list[LedgerRow] = field(default_factory=list)


def unique_by_key(alerts: Iterable[Alert]) -> list[Alert]:
    """One alert per key (the first wins; detectors are deterministic, so duplicates are equal conditions)."""
    seen: dict[str, Alert] = {}
    for alert in alerts:
        seen.setdefault(alert.key, alert)
    return list(seen.values())


def plan_transitions(
    store: AlertStore,
    alerts: Iterable[Alert],
    *,
    now: datetime,
    open_rows: Sequence[LedgerRow] = (),
    window_start: datetime | None = None,
    judged: Callable[[LedgerRow], bool] = lambda row: True,
    quiet_before: datetime | None = None,
    incident_slack: timedelta = timedelta(minutes=5),
) -> LedgerPlan:
    """What to publish and what to record for the detected alerts (see the module docstring).

    `open_rows` with a start inside the detection window (>= window_start) that the detectors no longer see at
    all (late data filled the gap, a device's backfill arrived) are resolved with end = now and
    `details.vanished = true` — if `judged(row)`: the window reaches the row's device's watermark, so its absence
    is an answer, not a blind spot. A new condition that ended before `quiet_before` is recorded, not published.
    """
    unique = unique_by_key(alerts)
    plan = LedgerPlan()
    detected = {a.key for a in unique}
    if window_start is not None:
        for stale in open_rows:
            if stale.start_ts >= window_start and stale.key not in detected and judged(stale):
                alert = stale.to_alert()
                gone = alert.model_copy(update={"end": now, "details": {**alert.details, "vanished": True}})
                row = LedgerRow.of(
                    gone,
                    status=RESOLVED,
                    first_seen=stale.first_seen,
                    now=now,
                    incident=stale.incident,
                    notified=stale.notified,
                )
                plan.rows.append(row)
                if stale.incident == stale.key and stale.notified:
                    plan.notifications.append(Notification(event=AlertEvent.RESOLVED, alert=row.to_alert()))
    if not unique:
        return plan
    existing = store.load([a.key for a in unique], min(a.start for a in unique))
    for incident in group_incidents(unique, slack=incident_slack):
        head = existing.get(incident.key)
        event = _event(incident.primary, head)
        ended = incident.primary.end
        quiet = head is None and ended is not None and quiet_before is not None and ended < quiet_before
        for alert in (incident.primary, *incident.members):
            known = existing.get(alert.key)
            status = _status(alert, known, incident.key)
            if status is None:
                continue
            notified = known.notified if known is not None else not quiet
            first_seen = known.first_seen if known is not None else now
            plan.rows.append(
                LedgerRow.of(
                    alert, status=status, first_seen=first_seen, now=now, incident=incident.key, notified=notified
                )
            )
        if event is not None and not quiet:
            plan.notifications.append(
                Notification(event=event, alert=incident.primary, members=tuple(incident.members))
            )
    return plan


def _event(alert: Alert, row: LedgerRow | None) -> AlertEvent | None:
    """The state change to publish for a primary: a new key opens (or, already ended, resolves); an open key ends."""
    if row is None:
        return AlertEvent.OPENED if alert.is_open else AlertEvent.RESOLVED
    if row.status == OPEN and not alert.is_open:
        return AlertEvent.RESOLVED
    return None


def _status(alert: Alert, row: LedgerRow | None, incident: str) -> str | None:
    """The status to record, or None when the row is already right (a resolved key never reopens)."""
    if row is None:
        return OPEN if alert.is_open else RESOLVED
    if row.status != OPEN:
        return None
    if not alert.is_open:
        return RESOLVED
    stored = row.to_alert()
    if stored.details != alert.details or stored.message != alert.message or row.incident != incident:
        return OPEN
    return None


class MemoryAlertStore:
    """An AlertStore in a dict: unit tests and one-process demos."""

    def __init__(self) -> None:
        self.rows: dict[str, LedgerRow] = {}

    def load(self, keys: Collection[str], since: datetime) -> dict[str, LedgerRow]:
        return {key: self.rows[key] for key in keys if key in self.rows}

    def save(self, rows: Sequence[LedgerRow]) -> None:
        for row in rows:
            self.rows[row.key] = row

    def open_rows(self) -> list[LedgerRow]:
        return sorted((r for r in self.rows.values() if r.status == OPEN), key=lambda r: r.start_ts)

    def list(self, start: datetime, end: datetime) -> list[LedgerRow]:
        return sorted((r for r in self.rows.values() if start <= r.start_ts < end), key=lambda r: r.start_ts)
