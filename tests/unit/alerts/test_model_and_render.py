from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from wattline.alerts import render
from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity, alert_key

START = datetime(2026, 11, 27, 21, 50, tzinfo=UTC)
ALERT = Alert(
    kind=AlertKind.OVER_RATED,
    device_id="shellyem-C45BBE6B1E5F",
    channel=1,
    start=START,
    end=None,
    severity=Severity.CRITICAL,
    message="Power reached 12000 W",
    details={"peak_w": 12000.0, "rated_max_power_w": 11000.0},
)


def test_the_key_is_a_sha_of_kind_device_channel_and_start():
    # Given the same condition described twice with different numbers / Then the keys agree
    other = ALERT.model_copy(update={"details": {"peak_w": 13000.0}, "message": "x"})
    assert ALERT.key == other.key == alert_key("over_rated", "shellyem-C45BBE6B1E5F", 1, START)
    assert len(ALERT.key) == 32


def test_the_key_changes_with_the_start():
    assert alert_key("gap", "em", 0, START) != alert_key("gap", "em", 0, START.replace(second=1))


def test_a_notification_survives_the_wire():
    # Given a notification / When it is serialised and parsed / Then it is equal, and its key is checked
    note = Notification(event=AlertEvent.OPENED, alert=ALERT)
    assert Notification.from_json(note.to_json()) == note
    body = json.loads(note.to_json())
    assert body["alert"]["key"] == ALERT.key and body["alert"]["end"] is None


def test_a_notification_whose_key_does_not_match_its_fields_is_rejected():
    body = json.loads(Notification(event=AlertEvent.OPENED, alert=ALERT).to_json())
    body["alert"]["key"] = "0" * 32
    with pytest.raises(ValueError, match="does not match"):
        Notification.from_json(json.dumps(body))


def test_the_email_subject_names_severity_kind_device_and_state():
    subject, body = render.email(Notification(event=AlertEvent.OPENED, alert=ALERT), ZoneInfo("Europe/Kyiv"))
    assert subject == "[wattline] CRITICAL: Power above the rated maximum — shellyem-C45BBE6B1E5F ch 1 (open)"
    assert "since 2026-11-27 23:50:00 EET" in body
    assert ALERT.key in body


def test_the_slack_message_is_block_kit_with_a_text_fallback():
    message = render.slack(Notification(event=AlertEvent.RESOLVED, alert=ALERT), ZoneInfo("Europe/Kyiv"))
    assert message["text"].startswith(":white_check_mark: Power above the rated maximum")
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section", "context"]
    assert len(message["blocks"][2]["fields"]) == 4
