from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from wattline.alerts.deliver import MemoryDeliveryLog, MemorySink, Outcome, Policy, deliver, parse_quiet_hours
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity
from wattline.errors import TransientError

KYIV = ZoneInfo("Europe/Kyiv")
NOON = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv


def note(severity: Severity = Severity.WARNING, minute: int = 0) -> Notification:
    alert = Alert(
        kind=AlertKind.GAP,
        device_id="em-a",
        channel=0,
        start=NOON + timedelta(minutes=minute),
        end=None,
        severity=severity,
        message="gap",
    )
    return Notification(event=AlertEvent.OPENED, alert=alert)


def test_a_message_delivered_twice_is_sent_once():
    sink, log = MemorySink(), MemoryDeliveryLog()
    outcomes = [deliver(note(), sink, log, Policy(tz=KYIV), now=NOON) for _ in range(2)]
    assert outcomes == [Outcome.SENT, Outcome.DUPLICATE]
    assert len(sink.sent) == 1


def test_a_transient_failure_raises_and_the_retry_sends_it():
    sink, log = MemorySink(fail_with=[TransientError("down")]), MemoryDeliveryLog()
    with pytest.raises(TransientError):
        deliver(note(), sink, log, Policy(tz=KYIV), now=NOON)
    assert deliver(note(), sink, log, Policy(tz=KYIV), now=NOON) is Outcome.SENT


def test_quiet_hours_across_midnight_hold_back_warnings_but_not_critical_alerts():
    policy = Policy(tz=KYIV, quiet_start=time(22), quiet_end=time(7))
    night = datetime(2026, 11, 27, 23, 30, tzinfo=KYIV)
    sink, log = MemorySink(), MemoryDeliveryLog()
    assert deliver(note(Severity.WARNING), sink, log, policy, now=night) is Outcome.QUIET_HOURS
    assert deliver(note(Severity.CRITICAL, minute=1), sink, log, policy, now=night) is Outcome.SENT
    assert [n.alert.severity for n in sink.sent] == [Severity.CRITICAL]


def test_the_rate_limit_counts_what_was_sent_in_the_last_hour():
    policy = Policy(tz=KYIV, max_per_hour=2)
    sink, log = MemorySink(), MemoryDeliveryLog()
    outcomes = [deliver(note(minute=i), sink, log, policy, now=NOON + timedelta(minutes=i)) for i in range(3)]
    later = deliver(note(minute=70), sink, log, policy, now=NOON + timedelta(minutes=70))
    assert outcomes == [Outcome.SENT, Outcome.SENT, Outcome.RATE_LIMITED]
    assert later is Outcome.SENT


def test_quiet_hours_are_parsed_from_text():
    assert parse_quiet_hours("22:00-07:00") == (time(22), time(7))
    assert parse_quiet_hours("") == (None, None)
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_quiet_hours("night")
