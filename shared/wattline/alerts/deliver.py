"""Subscriber side: send each (alert key, event) once per sink, under rate limits and quiet hours.

Order per message: already delivered → skip; quiet hours or rate limit → record `suppressed` and skip (the
alert stays in the ledger, visible with `wattline alerts`); else send, then record `sent`. A sink failure
raises: TransientError → the caller raises so Pub/Sub redelivers; PermanentError → the caller dead-letters.
A crash between sending and recording sends once more on redelivery (at-least-once, never lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from wattline.alerts.model import Notification, Severity


class Sink(Protocol):
    """Something that shows a notification to people: SMTP, a Slack webhook, a local outbox file."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise TransientError (retry) / PermanentError (dead-letter)."""
        ...


class DeliveryLog(Protocol):
    """Which (sink, token) were handled, and when: the subscribers' idempotency and rate-limit memory."""

    def seen(self, sink: str, token: str) -> bool: ...

    def record(self, sink: str, token: str, status: str, at: datetime) -> None: ...

    def count_since(self, sink: str, since: datetime) -> int:
        """Messages actually sent by the sink since the instant."""
        ...


class Outcome(StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    QUIET_HOURS = "quiet_hours"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Policy:
    """Rate limit per sink (per rolling hour) and quiet hours in local time. `bypass` severities ignore both."""

    tz: ZoneInfo
    max_per_hour: int | None = 30
    quiet_start: time | None = None
    quiet_end: time | None = None
    bypass: Severity = Severity.CRITICAL

    def quiet(self, at: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return False
        local = at.astimezone(self.tz).time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= local < self.quiet_end
        return local >= self.quiet_start or local < self.quiet_end  # across midnight, e.g. 22:00–07:00


def parse_quiet_hours(text: str | None) -> tuple[time | None, time | None]:
    """`"22:00-07:00"` → (22:00, 07:00); empty or None → no quiet hours."""
    if not text:
        return None, None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError as exc:
        raise ValueError(f"quiet hours {text!r}: use HH:MM-HH:MM in local time, e.g. 22:00-07:00") from exc
    return start, end


def deliver(notification: Notification, sink: Sink, log: DeliveryLog, policy: Policy, *, now: datetime) -> Outcome:
    token = notification.token
    if log.seen(sink.name, token):
        return Outcome.DUPLICATE
    urgent = notification.alert.severity.rank >= policy.bypass.rank
    if not urgent and policy.quiet(now):
        log.record(sink.name, token, Outcome.QUIET_HOURS.value, now)
        return Outcome.QUIET_HOURS
    if (
        not urgent
        and policy.max_per_hour is not None
        and log.count_since(sink.name, now - timedelta(hours=1)) >= policy.max_per_hour
    ):
        log.record(sink.name, token, Outcome.RATE_LIMITED.value, now)
        return Outcome.RATE_LIMITED
    sink.send(notification)
    log.record(sink.name, token, Outcome.SENT.value, now)
    return Outcome.SENT


class MemoryDeliveryLog:
    """A DeliveryLog in memory: unit tests and single-process runs."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[str, datetime]] = {}

    def seen(self, sink: str, token: str) -> bool:
        return (sink, token) in self.entries

    def record(self, sink: str, token: str, status: str, at: datetime) -> None:
        self.entries[(sink, token)] = (status, at)

    def count_since(self, sink: str, since: datetime) -> int:
        return sum(1 for (s, _), (status, at) in self.entries.items() if s == sink and status == "sent" and at >= since)


class MemorySink:
    """Collects what it is sent; fails on demand (tests)."""

    def __init__(self, name: str = "memory", fail_with: Sequence[Exception] = ()) -> None:
        self.name = name
        self.sent: list[Notification] = []
        self._failures = list(fail_with)

    def send(self, notification: Notification) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(notification)
