"""The near-real-time watchdog: silent meters and site outages from the newest raw objects, with the batch keys,
published once, with few listing requests however busy a meter is."""

from __future__ import annotations

import bisect
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers.fakes import MemoryPublisher
from helpers.raw import batch_alerts, gen1_power, lwt, ms, put_raw, readings_in

from wattline import keys
from wattline.adapters.memory_store import MemoryObjectStore
from wattline.alerts.model import SITE, AlertKind
from wattline.alerts.thresholds import Thresholds
from wattline.alerts.watchdog import WatchdogOptions, run_watchdog
from wattline.errors import TransientError
from wattline.models import Envelope

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
OPTIONS = WatchdogOptions(thresholds=Thresholds(), tz=KYIV, delivery_lag_s=90)
A, B, C = "shellyem-A4CF12F454A3", "shellyem-C45BBE6C2E8F", "shellyproem50-08f9e0e67204"


class ListingStore(MemoryObjectStore):
    """A MemoryObjectStore with S3's StartAfter and delimiter listings, counting requests, listed keys and GETs."""

    def __init__(self) -> None:
        super().__init__("data")
        self.requests = 0
        self.listed = 0
        self.gets = 0

    def list_keys_after(self, prefix: str, start_after: str, *, limit: int | None = None) -> list[str]:
        under = self.list_keys(prefix)
        found = under[bisect.bisect_right(under, start_after) :]
        found = found if limit is None else found[:limit]
        self.requests += max(1, -(-len(found) // 1000))
        self.listed += len(found)
        return found

    def list_prefixes(self, prefix: str) -> list[str]:
        self.requests += 1
        return sorted({prefix + key[len(prefix) :].split("/")[0] + "/" for key in self.list_keys(prefix)})

    def get(self, key: str) -> bytes:
        self.gets += 1
        return super().get(key)


def power(store: MemoryObjectStore, device: str, start: datetime, end: datetime) -> None:
    """Gen1 power messages every 30 s from `start` up to and including `end`."""
    gen1_power(store, device, start, end, every_s=30)


def batch_silence_keys(store: MemoryObjectStore, now: datetime = NOW) -> set[str]:
    """What the batch detector finds open with reason silent/site_silent in *every* raw object of the store."""
    alerts = batch_alerts(readings_in(store), now, KYIV, Thresholds())
    return {a.key for a in alerts if a.is_open and a.details.get("reason") in ("silent", "site_silent")}


def published(publisher: MemoryPublisher) -> list[dict]:
    return [json.loads(data) for _topic, data, _attributes in publisher.messages]


def test_a_meter_silent_longer_than_offline_s_is_an_offline_alert_with_the_batch_key():
    # Given meter A silent since 09:40 while meter B keeps talking
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))
    power(store, B, NOW - timedelta(hours=1), NOW - timedelta(seconds=30))
    # When the watchdog runs at 10:00
    report = run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then A is offline (silent) from its last message, opened, keyed as the batch detector keys it
    (body,) = published(publisher)
    assert body["event"] == "opened" and body["source"] == "realtime"
    assert (body["alert"]["kind"], body["alert"]["device_id"], body["alert"]["details"]["reason"]) == (
        "offline",
        A,
        "silent",
    )
    assert body["alert"]["start"] == "2026-11-27T09:40:00.000Z" and body["alert"]["end"] is None
    assert {body["alert"]["key"]} == batch_silence_keys(store) == {a.key for a in report.alerts}
    assert publisher.messages[0][0] == "alerts" and publisher.messages[0][2]["kind"] == "offline"


def test_meters_that_fell_silent_together_are_one_site_outage_with_the_batch_key():
    # Given three meters that all stopped within a minute of each other, 15 minutes ago
    store, publisher = ListingStore(), MemoryPublisher()
    for offset, device in enumerate((A, B, C)):
        power(store, device, NOW - timedelta(hours=1), NOW - timedelta(minutes=16) + timedelta(seconds=30 * offset))
    # When the watchdog runs
    run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then one site outage is published, and no per-meter offline alert (folded, as in the batch path)
    (body,) = published(publisher)
    assert (body["alert"]["kind"], body["alert"]["device_id"]) == (AlertKind.OUTAGE.value, SITE)
    assert body["alert"]["details"]["reason"] == "site_silent"
    assert body["alert"]["details"]["devices"] == sorted((A, B, C))
    assert {body["alert"]["key"]} == batch_silence_keys(store)


def test_a_meters_own_silence_waits_until_a_site_outage_is_ruled_out():
    # Given meter A silent for 12 minutes (> offline_s) while B talks
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=12))
    power(store, B, NOW - timedelta(hours=1), NOW + timedelta(minutes=10))
    # When the watchdog runs now, and 5 minutes later
    run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    held = list(publisher.messages)
    run_watchdog(store, publisher, options=OPTIONS, now=NOW + timedelta(minutes=5))
    # Then A is published only once its silence is longer than offline_s + site_onset_s (B could have followed it)
    assert held == []
    (body,) = published(publisher)
    assert body["alert"]["device_id"] == A


def test_a_meter_that_turns_out_to_be_the_first_of_a_site_outage_is_only_in_the_outage():
    # Given meter A silent from 09:40 and meter B from 09:44 (within site_onset_s of A)
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))
    power(store, B, NOW - timedelta(hours=1), NOW - timedelta(minutes=16))
    # When the watchdog runs every 5 minutes from 09:50 to 10:10
    for minutes in range(-10, 15, 5):
        run_watchdog(store, publisher, options=OPTIONS, now=NOW + timedelta(minutes=minutes))
    # Then the one message is the site outage (A's own offline, folded by the batch path, never went out)
    (body,) = published(publisher)
    assert body["alert"]["kind"] == "outage"
    assert {body["alert"]["key"]} == batch_silence_keys(store, NOW + timedelta(minutes=10))


def test_a_last_will_is_left_to_validate():
    # Given meter A's last will after its last message, and meter B still talking
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=30))
    lwt(store, A, NOW - timedelta(minutes=29))
    power(store, B, NOW - timedelta(hours=1), NOW)
    # When the watchdog runs
    report = run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then nothing is published: the LWT alert is validate's, and a silence holding an LWT is not `silent`
    assert publisher.messages == [] and report.alerts == []


def test_a_second_run_publishes_nothing_new_and_a_marker_remembers_the_first():
    # Given a silent meter whose alert the watchdog published
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))
    power(store, B, NOW - timedelta(hours=1), NOW)
    first = run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # When it runs again five minutes later
    second = run_watchdog(store, publisher, options=OPTIONS, now=NOW + timedelta(minutes=5))
    # Then the same alert is found but not published again
    assert len(publisher.messages) == 1
    assert second.published == [] and second.already == first.published
    (token,) = first.published
    marker = json.loads(store.objects[keys.watchdog_marker_key(token.split(":")[0])])
    assert marker["token"] == token and marker["message_id"] == "1"


class FailingPublisher(MemoryPublisher):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def publish(self, topic, data, attributes=None):
        if self.failures:
            self.failures -= 1
            raise TransientError("Pub/Sub is unavailable for now")
        return super().publish(topic, data, attributes)


def test_a_failed_publish_raises_leaves_no_marker_and_the_next_run_publishes_it():
    # Given a silent meter and Pub/Sub failing once
    store, publisher = ListingStore(), FailingPublisher(failures=1)
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))
    power(store, B, NOW - timedelta(hours=1), NOW)
    # When the watchdog runs, then again
    with pytest.raises(TransientError):
        run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    assert not store.list_keys(keys.WATCHDOG_PREFIX)
    run_watchdog(store, publisher, options=OPTIONS, now=NOW + timedelta(minutes=5))
    # Then the alert went out on the second run
    assert len(publisher.messages) == 1


def test_a_meter_silent_since_before_midnight_is_found_in_yesterdays_partition():
    # Given 00:20 UTC, meter A's last message at 23:50 the day before, meter B talking across midnight
    now = datetime(2026, 11, 28, 0, 20, tzinfo=UTC)
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, now - timedelta(hours=1), now - timedelta(minutes=30))
    power(store, B, now - timedelta(hours=1), now)
    # When the watchdog runs
    run_watchdog(store, publisher, options=OPTIONS, now=now)
    # Then A is offline since 23:50 with the batch key
    (body,) = published(publisher)
    assert body["alert"]["device_id"] == A and body["alert"]["start"] == "2026-11-27T23:50:00.000Z"
    assert {body["alert"]["key"]} == batch_silence_keys(store, now)


def test_objects_without_a_meter_message_are_read_past_to_the_last_one_that_counts():
    # Given meter A's last power message at 09:40, followed by Gen2-style frames that carry no meter component
    store, publisher = ListingStore(), MemoryPublisher()
    power(store, A, NOW - timedelta(hours=1), NOW - timedelta(minutes=20))
    for i in range(6):
        ts = NOW - timedelta(minutes=19) + timedelta(seconds=10 * i)
        frame = {"src": A, "method": "NotifyStatus", "params": {"ts": ts.timestamp(), "sys": {"uptime": i}}}
        put_raw(store, A, ts, f"{A}/events/rpc", frame)
    power(store, B, NOW - timedelta(hours=1), NOW)
    # When the watchdog runs
    run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then A's silence starts at its last message, as the batch detector says
    (body,) = published(publisher)
    assert body["alert"]["start"] == "2026-11-27T09:40:00.000Z"
    assert {body["alert"]["key"]} == batch_silence_keys(store)


def test_firehose_batches_are_read_newest_first():
    # Given Firehose objects (names without a receive time, one envelope per line) for two meters
    store, publisher = MemoryObjectStore(), MemoryPublisher()
    for device, last in ((A, NOW - timedelta(minutes=25)), (B, NOW - timedelta(seconds=20))):
        start = NOW - timedelta(hours=1)
        while start <= last:
            lines = []
            for second in range(0, 60, 30):
                ts = start + timedelta(seconds=second)
                if ts <= last:
                    envelope = Envelope(
                        topic=f"shellies/{device}/emeter/0/power", received_ms=ms(ts), payload_b64="MTIwLjU="
                    )
                    lines.append(envelope.to_json_line())
            name = f"wattline-raw-1-{start:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
            store.put(f"{keys.raw_prefix(start.date(), device)}{name}", "\n".join(lines).encode())
            start += timedelta(minutes=1)
    # When the watchdog runs (on a store without StartAfter listings: the fallback path)
    run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then A is offline from its last message
    (body,) = published(publisher)
    assert body["alert"]["device_id"] == A and body["alert"]["start"] == "2026-11-27T09:35:00.000Z"
    assert {body["alert"]["key"]} == batch_silence_keys(store)


def test_a_busy_meter_is_never_listed_whole():
    # Given two 1 Hz meters since midnight: A talking up to now, B silent for the last 3 hours (~90,000 objects)
    store, publisher = ListingStore(), MemoryPublisher()
    midnight = NOW.replace(hour=0)
    data = Envelope(topic=f"shellies/{A}/emeter/0/power", received_ms=0, payload_b64="MTIwLjU=").to_json_line()
    for device, end in ((A, NOW - timedelta(seconds=1)), (B, NOW - timedelta(hours=3))):
        for second in range(int((end - midnight).total_seconds()) + 1):
            ts = midnight + timedelta(seconds=second)
            envelope = data.replace(A, device).replace('"received_ms":0', f'"received_ms":{ms(ts)}')
            store.objects[keys.raw_key(ts.date(), device, ms(ts), f"{second:08d}-0000-4000-8000-000000000000")] = (
                envelope.encode()
            )
    # When the watchdog runs
    run_watchdog(store, publisher, options=OPTIONS, now=NOW)
    # Then B is offline since 07:00 with the batch key ...
    (body,) = published(publisher)
    assert body["alert"]["device_id"] == B and body["alert"]["start"] == "2026-11-27T07:00:00.000Z"
    # ... found with a few listing requests of at most a page each and a few GETs, not by listing ~90,000 keys
    assert store.requests <= 20, store.requests
    assert store.listed <= 4_000, store.listed
    assert store.gets <= 2 * OPTIONS.objects
