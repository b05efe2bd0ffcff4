from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from helpers.fakes import MemoryPublisher

from wattline.alerts.deliver import MemoryDeliveryLog, MemorySink, Policy
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity
from wattline.alerts.pipeline import DetectOptions, DetectRequest, detection_windows
from wattline.alerts.subscriber import DEAD_LETTERED, handle_message
from wattline.alerts.thresholds import Thresholds
from wattline.errors import PermanentError, TransientError

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NOTE = Notification(
    event=AlertEvent.OPENED,
    alert=Alert(
        kind=AlertKind.GAP, device_id="em-a", channel=0, start=NOW, end=None, severity=Severity.WARNING, message="gap"
    ),
)


def handle(data: bytes, sink, dead: MemoryPublisher) -> str:
    return handle_message(
        data,
        {"kind": "gap"},
        sink=sink,
        log=MemoryDeliveryLog(),
        policy=Policy(tz=KYIV),
        now=NOW,
        dead_letter=dead,
        dead_letter_topic="alerts-dead-letter",
        message_id="m-1",
    )


def test_a_message_that_is_not_a_notification_is_dead_lettered_with_its_reason():
    dead = MemoryPublisher()
    assert handle(b"{}", MemorySink("email"), dead) == DEAD_LETTERED
    topic, data, attributes = dead.messages[0]
    assert (topic, data) == ("alerts-dead-letter", b"{}")
    assert attributes["sink"] == "email" and attributes["original_message_id"] == "m-1"
    assert "not an alert notification" in attributes["reason"]


def test_a_permanent_sink_failure_is_dead_lettered_and_a_transient_one_raises():
    dead = MemoryPublisher()
    refused = MemorySink("slack", fail_with=[PermanentError("Slack webhook answered 404")])
    assert handle(NOTE.to_json(), refused, dead) == DEAD_LETTERED
    assert "404" in dead.messages[0][2]["reason"]
    with pytest.raises(TransientError):
        handle(NOTE.to_json(), MemorySink("slack", fail_with=[TransientError("503")]), dead)


def test_a_sink_that_cannot_be_configured_dead_letters_instead_of_failing_forever():
    def unconfigured():
        raise PermanentError("e-mail sink: no recipients; set WATTLINE_EMAIL_TO")

    dead = MemoryPublisher()
    assert handle(NOTE.to_json(), unconfigured, dead) == DEAD_LETTERED
    assert "no recipients" in dead.messages[0][2]["reason"]


def test_an_energy_updated_message_sets_the_touched_hours():
    body = {"event": "energy.updated", "device_id": "em-a", "hours_from": "2026-11-27T08:00:00Z", "hours_to": None}
    request = DetectRequest.from_message(json.dumps(body).encode())
    assert request == DetectRequest(
        touched_from=datetime(2026, 11, 27, 8, tzinfo=UTC), device_id="em-a", trigger="energy.updated"
    )


def test_any_other_json_is_a_scheduled_run_and_non_json_is_permanent():
    assert DetectRequest.from_message(b'{"event":"alerts.tick"}') == DetectRequest()
    assert DetectRequest.from_message(b"") == DetectRequest()
    with pytest.raises(PermanentError):
        DetectRequest.from_message(b"\xff not json")


def test_a_tick_reads_back_from_the_newest_delivered_data_to_the_oldest_open_alert_but_never_past_the_cap():
    options = DetectOptions(thresholds=Thresholds(), tz=KYIV)
    open_rows = [SimpleNamespace(start_ts=NOW - timedelta(days=3)), SimpleNamespace(start_ts=NOW - timedelta(days=30))]
    assert detection_windows(DetectRequest(), [], options, NOW) == [(NOW - timedelta(hours=48), NOW)]
    assert detection_windows(DetectRequest(), open_rows[:1], options, NOW)[0][0] == NOW - timedelta(days=3, minutes=1)
    assert detection_windows(DetectRequest(), open_rows, options, NOW)[0][0] == NOW - timedelta(days=7)


def test_a_touched_period_in_history_is_read_with_a_week_after_it_and_a_long_one_in_week_long_windows():
    options = DetectOptions(thresholds=Thresholds(), tz=KYIV)
    old = NOW - timedelta(days=365)
    one_day = DetectRequest(touched_from=old, touched_to=old + timedelta(hours=23), trigger="energy.updated")
    assert detection_windows(one_day, [], options, NOW) == [(old - timedelta(hours=48), old + timedelta(days=8))]
    ten_days = DetectRequest(touched_from=old, touched_to=old + timedelta(days=10), trigger="energy.updated")
    windows = detection_windows(ten_days, [], options, NOW)
    assert [start for start, _ in windows] == [old - timedelta(hours=48), old + timedelta(days=5)]
    assert windows[-1][1] == old + timedelta(days=10, hours=1) + timedelta(days=7)
