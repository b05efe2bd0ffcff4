"""The stdlib sinks against real local servers: SMTP with STARTTLS, and an HTTP webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from wattline.alerts.model import Alert, AlertEvent, AlertKind, Notification, Severity
from wattline.alerts.sinks import SlackWebhookSink, SmtpSink
from wattline.errors import PermanentError, TransientError
from wattline.local.broker import free_port

pytestmark = pytest.mark.servers
KYIV = ZoneInfo("Europe/Kyiv")
NOTE = Notification(
    event=AlertEvent.OPENED,
    alert=Alert(
        kind=AlertKind.OUTAGE,
        device_id="*",
        channel=None,
        start=datetime(2026, 11, 27, 8, 0, tzinfo=UTC),
        end=None,
        severity=Severity.CRITICAL,
        message="Every meter of the site (3) fell silent",
        details={"devices": ["em-a", "em-b", "em-c"]},
    ),
)


def test_an_email_goes_out_over_starttls_to_every_recipient(smtp_server):
    # Given an SMTP server that requires STARTTLS, trusted through its certificate
    sink = SmtpSink(
        host="127.0.0.1",
        port=smtp_server.port,
        sender="wattline@example.test",
        recipients=["ops@example.test", "home@example.test"],
        tz=KYIV,
        ca_file=str(smtp_server.ca_file),
    )
    before = len(smtp_server.received())
    # When one notification is sent
    sink.send(NOTE)
    # Then the server received it with the alert key in a header
    message = smtp_server.received()[before]
    assert message["Subject"] == "[wattline] CRITICAL: Power outage — the whole site (open)"
    assert message["To"] == "ops@example.test, home@example.test"
    assert message["X-Wattline-Alert-Key"] == NOTE.alert.key


def test_an_untrusted_smtp_certificate_is_a_permanent_failure(smtp_server):
    sink = SmtpSink(host="127.0.0.1", port=smtp_server.port, sender="w@x", recipients=["a@x"], tz=KYIV)
    with pytest.raises(PermanentError, match="certificate not trusted"):
        sink.send(NOTE)


def test_a_refused_smtp_connection_is_transient():
    sink = SmtpSink(host="127.0.0.1", port=free_port(), sender="w@x", recipients=["a@x"], tz=KYIV, timeout_s=2)
    with pytest.raises(TransientError):
        sink.send(NOTE)


def test_the_slack_webhook_receives_block_kit(slack_webhook):
    before = len(slack_webhook.received())
    SlackWebhookSink(url=slack_webhook.url, tz=KYIV).send(NOTE)
    body = slack_webhook.received()[before]
    assert body["blocks"][0]["text"]["text"] == ":rotating_light: Power outage — the whole site (open)"


def test_a_slack_4xx_is_permanent_and_a_5xx_is_transient(slack_webhook):
    sink = SlackWebhookSink(url=slack_webhook.url, tz=KYIV)
    slack_webhook.status[:] = [400, 503]
    with pytest.raises(PermanentError, match="400"):
        sink.send(NOTE)
    with pytest.raises(TransientError, match="503"):
        sink.send(NOTE)
