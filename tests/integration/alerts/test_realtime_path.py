"""The near-real-time alert path as deployed, on real local servers.

Two sites (data buckets on moto server S3) with raw objects at real receive times:
- "home": meter L's MQTT last will, meter X silent for 20 minutes, meter Y still talking;
- "cottage": meters A and B silent together for a quarter of an hour.
The aws-aggregator handlers run as Lambda calls them (validate: the Object Created event of L's last will; watchdog: the
schedule, twice), publishing over REST into the Pub/Sub emulator's `alerts` topic; a push subscription delivers to
`notify_email` on functions-framework, which mails through aiosmtpd (STARTTLS). Then the batch `detect`
(`run_detect`) sees the same conditions in the same readings and publishes them as well: its `opened` for each key
is dropped by the subscriber's delivery log, so each alert is mailed once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.aws_events import ACCOUNT, object_created, scheduled_event
from helpers.pubsub import RestEmulator
from helpers.raw import gen1_power, gen2_power, lwt, readings_in

from wattline.adapters.pubsub_rest import RestPubSubPublisher
from wattline.adapters.s3_store import S3ObjectStore
from wattline.alerts.ledger import MemoryAlertStore
from wattline.alerts.pipeline import DetectOptions, DetectRequest, run_detect
from wattline.alerts.thresholds import Thresholds
from wattline.formats.columns import ReadingColumns
from wattline.local.servers import ServerProcess
from wattline.models import HourlyEnergy, Reading

pytestmark = [pytest.mark.emulators, pytest.mark.servers, pytest.mark.slow]

PROJECT = "wattline-realtime-path"
REGION = "eu-central-1"
KYIV = ZoneInfo("Europe/Kyiv")
L, X, Y = "shellyem-0A0A0A0A0A01", "shellyem-0A0A0A0A0A02", "shellyproem50-0a0a0a0a0a03"
A, B = "shellyproem50-0b0b0b0b0b01", "shellyem-0B0B0B0B0B02"


class Context:
    function_name = "wattline-aws-aggregator-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:wattline-aws-aggregator-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/wattline-aws-aggregator-test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class Readings:
    """The batch detect's readings source over the same raw objects, as if today's daily files were loaded."""

    def __init__(self, readings: list[Reading], today: date) -> None:
        self._readings, self._today = readings, today

    def columns(self, start: datetime, end: datetime) -> ReadingColumns:
        return ReadingColumns.from_readings(r for r in self._readings if start <= r.ts < end)

    def hourly(self, start: datetime, end: datetime) -> list[HourlyEnergy]:
        return []

    def delivered_days(self) -> dict[str, date]:
        return {r.device_id: self._today for r in self._readings}


def wait_for(predicate: Any, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.2)


def new_bucket(moto_endpoint: str, name: str) -> S3ObjectStore:
    store = S3ObjectStore(f"wattline-{name}-{uuid.uuid4().hex[:8]}", endpoint_url=moto_endpoint, region=REGION)
    store.client.create_bucket(Bucket=store.name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return store


@pytest.fixture(scope="module")
def path(
    moto_endpoint: str,
    pubsub_server: ServerProcess,
    function_servers: Any,
    smtp_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    from aws_aggregator import settings, validate, watchdog
    from wattline import realtime

    root = tmp_path_factory.mktemp("realtime-path")
    now = datetime.now(UTC)
    # Given the two sites' raw objects, written as the IoT rule writes them (keys named by receive time)
    home, cottage = new_bucket(moto_endpoint, "home"), new_bucket(moto_endpoint, "cottage")
    gen1_power(home, L, now - timedelta(minutes=50), now - timedelta(minutes=3))
    lwt_key = lwt(home, L, now - timedelta(minutes=2))
    gen1_power(home, X, now - timedelta(minutes=50), now - timedelta(minutes=20))
    gen2_power(home, Y, now - timedelta(minutes=50), now - timedelta(seconds=10))
    gen2_power(cottage, A, now - timedelta(minutes=50), now - timedelta(minutes=15))
    gen1_power(cottage, B, now - timedelta(minutes=50), now - timedelta(minutes=14))
    # ... the alerts topic, an observer, and notify_email behind a push subscription
    rest = RestEmulator(pubsub_server.address, PROJECT)
    for topic in ("alerts", "alerts-dead-letter"):
        rest.topic(topic)
    observer = rest.subscription("alerts", "alerts-observer")
    email_env = {
        "PUBSUB_EMULATOR_HOST": pubsub_server.address,
        "WATTLINE_GCP_PROJECT": PROJECT,
        "WATTLINE_WAREHOUSE": "duckdb",
        "WATTLINE_PUBLISHER": "pubsub",
        "WATTLINE_HOME": str(root / "home"),
        "WATTLINE_DUCKDB_PATH": str(root / "email.duckdb"),
        "WATTLINE_ALERTS_MAX_PER_HOUR": "100",
        "WATTLINE_SMTP_HOST": "127.0.0.1",
        "WATTLINE_SMTP_PORT": str(smtp_server.port),
        "WATTLINE_SMTP_CA_FILE": str(smtp_server.ca_file),
        "WATTLINE_EMAIL_TO": "ops@example.test",
    }
    with (
        function_servers(("notify_email", email_env)) as (email,),
        pytest.MonkeyPatch.context() as env,
    ):
        rest.subscription("alerts", "email-push", push_endpoint=f"{email.url}/projects/{PROJECT}/topics/alerts")
        # ... and the aws-aggregator's environment as serverless.yml sets it with realtimeAlerts=true
        env.setenv("WATTLINE_S3_ENDPOINT_URL", moto_endpoint)
        env.setenv("WATTLINE_REALTIME_ALERTS", "true")
        env.setenv("WATTLINE_GCP_PROJECT", PROJECT)
        env.setenv("WATTLINE_ALERTS_TOPIC", "alerts")
        env.setenv("WATTLINE_PUBSUB_ENDPOINT", f"http://{pubsub_server.address}")

        def site(store: S3ObjectStore) -> None:
            env.setenv("WATTLINE_BUCKET", store.name)
            for cached in (settings.get_settings, settings.get_store, realtime.get_forwarder):
                cached.cache_clear()

        # When validate gets the Object Created event of L's last will, and the watchdog runs on each site
        site(home)
        validate.handler(object_created(home.name, lwt_key), Context())
        scheduled = scheduled_event(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/wattline-watchdog")
        first = {"home": watchdog.handler(scheduled, Context())}
        site(cottage)
        first["cottage"] = watchdog.handler(scheduled, Context())
        realtime_messages = [json.loads(m["data"]) for m in rest.pull(observer, want=3, settle_s=1.0)]
        realtime_keys = {m["alert"]["key"] for m in realtime_messages}
        wait_for(lambda: realtime_keys <= {m["X-Wattline-Alert-Key"] for m in smtp_server.received()})
        mailed_first = [m for m in smtp_server.received() if m["X-Wattline-Alert-Key"] in realtime_keys]
        # ... then the watchdog runs again on both sites (a new container each: no memory but the markers)
        second = {"cottage": watchdog.handler(scheduled, Context())}
        site(home)
        second["home"] = watchdog.handler(scheduled, Context())
        after_second = rest.pull(observer, want=0, settle_s=1.5, timeout_s=5)
        # ... and later the batch detect sees the same readings (as if today's daily files were loaded)
        later = datetime.now(UTC)
        batch_messages = []
        for store in (home, cottage):
            run_detect(
                DetectRequest(),
                source=Readings(readings_in(store), later.date()),
                store=MemoryAlertStore(),
                publisher=RestPubSubPublisher(PROJECT, endpoint=f"http://{pubsub_server.address}"),
                options=DetectOptions(thresholds=Thresholds(), tz=KYIV),
                now=later,
            )
        batch_messages = [json.loads(m["data"]) for m in rest.pull(observer, want=3, settle_s=2.0)]
        batch_keys = {m["alert"]["key"] for m in batch_messages}
        wait_for(lambda: batch_keys - realtime_keys <= {m["X-Wattline-Alert-Key"] for m in smtp_server.received()})
        time.sleep(3)  # give the repeated keys their chance to be (wrongly) mailed
        yield {
            "realtime": realtime_messages,
            "mailed_first": mailed_first,
            "first": first,
            "second": second,
            "after_second": after_second,
            "batch": batch_messages,
            "mails": [m for m in smtp_server.received() if m["X-Wattline-Alert-Key"] in realtime_keys | batch_keys],
            "log": email.log_tail(),
        }
    for cached in (settings.get_settings, settings.get_store, realtime.get_forwarder):
        cached.cache_clear()


def described(message: dict[str, Any]) -> tuple[str, str, str]:
    alert = message["alert"]
    return alert["kind"], alert["device_id"], alert["details"]["reason"]


def test_validate_publishes_the_last_will_and_the_watchdog_the_silent_meter_and_the_site_outage(path):
    assert sorted(described(m) for m in path["realtime"]) == [
        ("offline", L, "lwt"),
        ("offline", X, "silent"),
        ("outage", "*", "site_silent"),
    ]
    assert {m["source"] for m in path["realtime"]} == {"realtime"}
    outage = next(m for m in path["realtime"] if m["alert"]["kind"] == "outage")
    assert outage["alert"]["details"]["devices"] == sorted((A, B))


def test_each_is_mailed_once(path):
    keys = [m["X-Wattline-Alert-Key"] for m in path["mailed_first"]]
    assert sorted(keys) == sorted(m["alert"]["key"] for m in path["realtime"]), path["log"]
    assert all(m["To"] == "ops@example.test" for m in path["mailed_first"])


def test_running_the_watchdog_again_publishes_nothing_new(path):
    assert [len(path["first"][site]["published"]) for site in ("home", "cottage")] == [1, 1]
    assert [path["second"][site]["published"] for site in ("home", "cottage")] == [[], []]
    assert [len(path["second"][site]["already_published"]) for site in ("home", "cottage")] == [1, 1]
    assert path["after_second"] == []


def test_the_batch_detect_publishes_the_same_keys_and_they_are_not_mailed_again(path):
    # The batch path found and published every condition the real-time path sent, under the same keys ...
    batch_tokens = {(m["alert"]["key"], m["event"]) for m in path["batch"] if m["source"] == "batch"}
    realtime_tokens = {(m["alert"]["key"], m["event"]) for m in path["realtime"]}
    assert realtime_tokens <= batch_tokens
    # ... and the subscriber mailed each (key, event) once
    sent = [(m["X-Wattline-Alert-Key"], m["Subject"]) for m in path["mails"]]
    per_key = {key: [s for k, s in sent if k == key] for key, _event in realtime_tokens}
    assert all(len(subjects) == 1 for subjects in per_key.values()), (per_key, path["log"])
