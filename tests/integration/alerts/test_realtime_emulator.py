"""The near-real-time forwarder publishing over REST to the Pub/Sub emulator's `alerts` topic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alert_pubsub import PROJECT, Emulator
from helpers.pubsub import RestEmulator

from wattline.adapters.pubsub_rest import RestPubSubPublisher
from wattline.alerts.model import alert_key
from wattline.models import Generation, Reading
from wattline.realtime import RealtimeForwarder, RealtimeSettings

pytestmark = [pytest.mark.emulators]


def test_a_last_will_reaches_the_alerts_topic_with_its_batch_key(pubsub: Emulator):
    # Given the alerts topic with a pull subscription, and an enabled forwarder wired to the emulator by settings
    rest = RestEmulator(pubsub.address, PROJECT)
    subscription = rest.subscription("alerts", "realtime-observer")
    settings = RealtimeSettings(realtime_alerts=True, gcp_project=PROJECT, pubsub_endpoint=pubsub.address)
    forwarder = RealtimeForwarder(settings)
    assert isinstance(forwarder.publisher(), RestPubSubPublisher)
    ts = datetime.now(UTC).replace(microsecond=123_000)
    lwt = Reading(
        device_id="shellyem-C45BBE6B1E5F",
        channel=None,
        ts=ts,
        received_ms=int(ts.timestamp() * 1000),
        generation=Generation.GEN1,
        online=False,
    )
    # When the validate Lambda hands it over
    sent = forwarder.forward([lwt])
    # Then one offline notification is on the topic, keyed like the batch detector's
    messages = rest.pull(subscription, want=1, settle_s=0.5, timeout_s=30)
    assert len(sent) == len(messages) == 1
    body = json.loads(messages[0]["data"])
    assert body["source"] == "realtime" and body["event"] == "opened"
    assert body["alert"]["key"] == alert_key("offline", "shellyem-C45BBE6B1E5F", None, ts)
    assert messages[0]["attributes"]["kind"] == "offline"
