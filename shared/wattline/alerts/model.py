"""The alert record and the notification that carries it: kinds, severities, the stable dedup key."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wattline.models import format_ts


class AlertKind(StrEnum):
    GAP = "gap"  # no power sample on a channel for longer than the gap threshold
    LOW_COVERAGE = "low_coverage"  # a local day whose sampled share is below the coverage threshold
    OFFLINE = "offline"  # LWT online=false, or no message at all for the offline threshold
    OUTAGE = "outage"  # voltage ≈ 0, or every meter of the site silent at once
    OVER_RATED = "over_rated"  # power above the meter's rated maximum
    SPIKE = "spike"  # hourly mean power far above its own hour-of-week baseline
    ENERGY_MISMATCH = "energy_mismatch"  # power integral and counter delta disagree over an hour
    COUNTER_RESET = "counter_reset"  # the energy counter went backwards (reboot, power loss)
    VOLTAGE = "voltage"  # voltage outside 230 V ± 10 % (EN 50160) for longer than a minute


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class AlertEvent(StrEnum):
    OPENED = "opened"  # first time this key is published (end may already be set: a closed episode)
    RESOLVED = "resolved"  # the condition ended after it had been published open


SITE = "*"  # device_id of alerts about the whole site (every meter silent at once)


def alert_key(kind: AlertKind | str, device_id: str, channel: int | None, start: datetime) -> str:
    """The stable dedup key: sha256 of (kind, device, channel, start in ms UTC), first 32 hex digits.

    The batch detector and the near-real-time path compute it the same way, so one condition has one key.
    """
    channel_text = "" if channel is None else str(channel)
    text = "|".join((str(kind), device_id, channel_text, format_ts(start)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Alert(BaseModel):
    """One detected condition. `end` is None while it is still going on."""

    model_config = ConfigDict(frozen=True)

    kind: AlertKind
    device_id: str
    channel: int | None
    start: datetime
    end: datetime | None
    severity: Severity
    message: str
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("alert times must be timezone-aware")
        return value

    @property
    def key(self) -> str:
        return alert_key(self.kind, self.device_id, self.channel, self.start)

    @property
    def is_open(self) -> bool:
        return self.end is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the key and UTC timestamps (`2026-11-27T10:00:00.000Z`)."""
        return {
            "key": self.key,
            "kind": self.kind.value,
            "device_id": self.device_id,
            "channel": self.channel,
            "start": format_ts(self.start),
            "end": None if self.end is None else format_ts(self.end),
            "severity": self.severity.value,
            "message": self.message,
            "details": self.details,
        }


class Notification(BaseModel):
    """What goes on the `alerts` topic: one incident in one state — its primary alert, and the conditions that
    share its cause (`members`, wattline.alerts.incidents). Subscribers send each (key, event) once."""

    model_config = ConfigDict(frozen=True)

    event: AlertEvent
    alert: Alert
    source: str = "batch"  # "batch" (the detect function) or "realtime" (the AWS validate path)
    members: tuple[Alert, ...] = ()

    @property
    def token(self) -> str:
        """Delivery idempotency token: one message per alert key and event."""
        return f"{self.alert.key}:{self.event.value}"

    def to_json(self) -> bytes:
        body: dict[str, Any] = {"event": self.event.value, "source": self.source, "alert": self.alert.to_dict()}
        if self.members:
            body["members"] = [member.to_dict() for member in self.members]
        return json.dumps(body, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes, so subscriptions can filter (kind, severity, event) without decoding."""
        return {
            "kind": self.alert.kind.value,
            "severity": self.alert.severity.value,
            "event": self.event.value,
            "key": self.alert.key,
            "device_id": self.alert.device_id,
        }

    @classmethod
    def from_json(cls, data: bytes | str) -> Notification:
        body = json.loads(data)
        if not isinstance(body, dict) or not isinstance(body.get("alert"), dict):
            raise ValueError("a notification is a JSON object with an 'alert' object")
        alert = _checked_alert(body["alert"])
        members = tuple(_checked_alert(member) for member in body.get("members") or ())
        return cls(
            event=AlertEvent(body.get("event", "opened")),
            alert=alert,
            source=body.get("source", "batch"),
            members=members,
        )


def _checked_alert(body: Any) -> Alert:
    if not isinstance(body, dict):
        raise ValueError("an alert is a JSON object")
    fields = dict(body)
    claimed_key = fields.pop("key", None)
    alert = Alert.model_validate(fields)
    if claimed_key is not None and claimed_key != alert.key:
        raise ValueError(f"alert key {claimed_key!r} does not match its fields ({alert.key})")
    return alert
