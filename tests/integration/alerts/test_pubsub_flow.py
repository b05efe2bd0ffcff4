"""The whole alert path on real local servers: Pub/Sub emulator PUSH → functions-framework `detect` (DuckDB
warehouse over daily files) → topic `alerts` → PUSH → `notify_email` (aiosmtpd, STARTTLS) and `notify_slack`
(HTTP webhook). Every trigger and every alert message is delivered twice; each alert state is sent once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alert_files import mark_loaded, series, write_daily_files
from alert_pubsub import PROJECT, Emulator

from wattline.warehouse.duckdb import DuckDBWarehouse

pytestmark = [pytest.mark.emulators, pytest.mark.servers, pytest.mark.slow]
BUCKET = "wattline-daily"


def wait_for(predicate, timeout_s: float = 120.0, settle_s: float = 2.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            time.sleep(settle_s)  # let any (wrong) extra delivery arrive before the assertions
            return
        time.sleep(0.2)


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone in which `now` is about local noon: the data's three hours then never cross local midnight,
    whenever the test runs (a silence just after midnight would also make a low-coverage day)."""
    east = 12 - now.hour
    return f"Etc/GMT{-east:+d}" if east else "UTC"


@pytest.fixture(scope="module")
def flow(pubsub: Emulator, function_servers, smtp_server, slack_webhook, tmp_path_factory):
    root = tmp_path_factory.mktemp("alert-flow")
    now = datetime.now(UTC).replace(microsecond=0)
    sag = (now - timedelta(hours=2), now - timedelta(hours=2) + timedelta(minutes=5))
    peak = (now - timedelta(minutes=90), now - timedelta(minutes=88))
    readings = series("em-a", now - timedelta(hours=3), now, overrides=[(*sag, {"voltage_v": 195.0})])
    readings += series(
        "em-b", now - timedelta(hours=3), now - timedelta(minutes=20), overrides=[(*peak, {"power_w": 12_000.0})]
    )
    write_daily_files(root / "buckets", BUCKET, readings)
    loaded = DuckDBWarehouse(root / "detect.duckdb", fs_root=root / "buckets", bucket=BUCKET)
    loaded.ensure_schema()
    mark_loaded(loaded, readings)  # the loader ran: detection knows today's files up to now
    loaded.close()

    common = {
        "PUBSUB_EMULATOR_HOST": pubsub.address,
        "WATTLINE_GCP_PROJECT": PROJECT,
        "WATTLINE_WAREHOUSE": "duckdb",
        "WATTLINE_PUBLISHER": "pubsub",
        "WATTLINE_HOME": str(root / "home"),
        "WATTLINE_ALERTS_MAX_PER_HOUR": "100",
        "WATTLINE_TIMEZONE": noon_zone(now),
    }
    detect_env = {
        **common,
        "WATTLINE_DUCKDB_PATH": str(root / "detect.duckdb"),
        "WATTLINE_FS_ROOT": str(root / "buckets"),
        "WATTLINE_BUCKET": BUCKET,
    }
    email_env = {
        **common,
        "WATTLINE_DUCKDB_PATH": str(root / "email.duckdb"),
        "WATTLINE_SMTP_HOST": "127.0.0.1",
        "WATTLINE_SMTP_PORT": str(smtp_server.port),
        "WATTLINE_SMTP_CA_FILE": str(smtp_server.ca_file),
        "WATTLINE_EMAIL_TO": "ops@example.test",
    }
    slack_env = {
        **common,
        "WATTLINE_DUCKDB_PATH": str(root / "slack.duckdb"),
        "WATTLINE_SLACK_WEBHOOK_URL": slack_webhook.url,
    }
    for topic in ("energy-updated", "alerts", "alerts-dead-letter"):
        pubsub.topic(topic)
    observer = pubsub.pull_subscription("alerts", "alerts-observer")
    dead_letters = pubsub.pull_subscription("alerts-dead-letter", "dead-letter-observer")
    with function_servers(("detect", detect_env), ("notify_email", email_env), ("notify_slack", slack_env)) as (
        detect,
        email,
        slack,
    ):
        pubsub.push("energy-updated", "detect-push", f"{detect.url}/projects/{PROJECT}/topics/energy-updated")
        pubsub.push("alerts", "email-push", f"{email.url}/projects/{PROJECT}/topics/alerts")
        pubsub.push("alerts", "slack-push", f"{slack.url}/projects/{PROJECT}/topics/alerts")
        trigger = {
            "event": "energy.updated",
            "device_id": "em-b",
            "date": now.date().isoformat(),
            "channels": [0],
            "hours_from": (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:00:00Z"),
            "hours_to": now.strftime("%Y-%m-%dT%H:00:00Z"),
            "rows": 3,
            "source": {"bucket": BUCKET, "name": "daily/…", "generation": "1"},
        }
        for _ in range(2):  # the same trigger twice: a redelivery
            pubsub.publish("energy-updated", json.dumps(trigger).encode())
        published = pubsub.pull(observer, want=3, settle_s=4.0, timeout_s=180)
        tokens = {_token(m.data) for m in published}
        wait_for(lambda: len(smtp_server.received()) >= len(tokens) and len(slack_webhook.received()) >= len(tokens))
        first = {"mails": smtp_server.received(), "slack": slack_webhook.received()}
        for message in published:  # every alert message once more: a redelivery
            pubsub.publish("alerts", message.data, **dict(message.attributes))
        pubsub.publish("alerts", b'{"not": "an alert"}')
        dead = pubsub.pull(dead_letters, want=2, settle_s=1.0, timeout_s=120)
        wait_for(lambda: False, timeout_s=3, settle_s=0)  # give the redeliveries their chance to (wrongly) send
        yield {
            "published": published,
            "tokens": tokens,
            "first": first,
            "mails": smtp_server.received(),
            "slack": slack_webhook.received(),
            "dead": dead,
            "logs": {"detect": detect.log_tail(), "email": email.log_tail(), "slack": slack.log_tail()},
        }


def _token(data: bytes) -> str:
    body = json.loads(data)
    return f"{body['alert']['key']}:{body['event']}"


def test_detect_publishes_the_alerts_the_readings_show(flow):
    kinds = {(json.loads(m.data)["alert"]["kind"], json.loads(m.data)["event"]) for m in flow["published"]}
    # em-b's silence is one incident: offline opened, its gap a member
    assert {("voltage", "resolved"), ("over_rated", "resolved"), ("offline", "opened")} <= kinds, flow["logs"]["detect"]
    offline = [json.loads(m.data) for m in flow["published"] if json.loads(m.data)["alert"]["kind"] == "offline"]
    assert len({body["alert"]["key"] for body in offline}) == 1  # the redelivered trigger may publish it again
    assert [m["kind"] for m in offline[0]["members"]] == ["gap"]


def test_each_alert_state_is_mailed_once_although_everything_was_delivered_twice(flow):
    keys = [(m["X-Wattline-Alert-Key"], "(open)" in m["Subject"]) for m in flow["mails"]]
    assert len(keys) == len(set(keys)) == len(flow["tokens"]), flow["logs"]["email"]
    assert all(m["To"] == "ops@example.test" for m in flow["mails"])


def test_each_alert_state_is_posted_to_slack_once(flow):
    texts = [body["blocks"][-1]["elements"][0]["text"] for body in flow["slack"]]
    assert len(texts) == len(set(texts)) == len(flow["tokens"]), flow["logs"]["slack"]


def test_a_message_that_is_not_an_alert_is_dead_lettered_by_each_subscriber_and_acked(flow):
    sinks = sorted(m.attributes["sink"] for m in flow["dead"])
    assert sinks == ["email", "slack"]
    assert all("not an alert notification" in m.attributes["reason"] for m in flow["dead"])
