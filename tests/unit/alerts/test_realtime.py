"""The near-real-time path: same alerts, same keys as the batch detectors, published at once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers.fakes import MemoryPublisher

from wattline.alerts.detect import detect_offline, detect_over_rated, observe
from wattline.alerts.model import AlertKind
from wattline.alerts.thresholds import Thresholds
from wattline.errors import PermanentError
from wattline.formats.columns import ReadingColumns
from wattline.models import Envelope
from wattline.parsing import parse_object
from wattline.realtime import (
    EpisodeMemory,
    RealtimeForwarder,
    RealtimeSettings,
    realtime_notifications,
    wif_credentials,
)

KYIV = ZoneInfo("Europe/Kyiv")
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
GEN1, GEN2 = "shellyem-C45BBE6B1E5F", "shellyproem50-08f9e0e67204"


def raw_object(*messages: tuple[str, int, object]) -> bytes:
    """Raw envelopes as the IoT rule stores them: text payloads base64, JSON payloads embedded."""
    lines = []
    for topic, received_ms, payload in messages:
        if isinstance(payload, str):
            envelope = Envelope(
                topic=topic, received_ms=received_ms, payload_b64=base64.b64encode(payload.encode()).decode()
            )
        else:
            envelope = Envelope(topic=topic, received_ms=received_ms, payload=payload)
        lines.append(envelope.to_json_line())
    return "\n".join(lines).encode()


def readings_of(data: bytes):
    now_ms = int((T0 + timedelta(hours=1)).timestamp() * 1000)
    return [r for outcome in parse_object(data, now_ms=now_ms) for r in outcome.readings]


def ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def test_a_last_will_from_gen1_and_gen2_is_an_offline_alert_with_the_batch_key():
    # Given the LWT `false` of a Gen1 and a Gen2 meter
    readings = readings_of(
        raw_object((f"shellies/{GEN1}/online", ms(T0), "false"), (f"{GEN2}/online", ms(T0) + 250, "false"))
    )
    # When the realtime path and the batch detector look at them
    notes = realtime_notifications(readings, rated_max_power_w=11_000, tz=KYIV, memory=EpisodeMemory())
    batch = detect_offline(observe(ReadingColumns.from_readings(readings)), thresholds=Thresholds(), tz=KYIV)
    # Then both meters are offline, opened, with the keys the batch path gives
    assert [(n.alert.kind, n.alert.device_id, n.event.value) for n in notes] == [
        (AlertKind.OFFLINE, GEN1, "opened"),
        (AlertKind.OFFLINE, GEN2, "opened"),
    ]
    assert {n.alert.key for n in notes} == {a.key for a in batch}


def test_power_above_the_rating_is_forwarded_once_per_episode_with_the_batch_key():
    # Given three consecutive samples above 11 kW, arriving in three separate invocations, then a normal one
    samples = [(T0 + timedelta(seconds=30 * i), power) for i, power in enumerate(["12000", "12500", "11800", "900"])]
    memory = EpisodeMemory()
    forwarded = []
    all_readings = []
    for ts, power in samples:
        readings = readings_of(raw_object((f"shellies/{GEN1}/emeter/0/power", ms(ts), power)))
        all_readings += readings
        forwarded += realtime_notifications(readings, rated_max_power_w=11_000, tz=KYIV, memory=memory)
    # Then one opened alert, keyed like the batch episode
    batch = detect_over_rated(observe(ReadingColumns.from_readings(all_readings)), thresholds=Thresholds(), tz=KYIV)
    assert [n.alert.key for n in forwarded] == [a.key for a in batch]
    assert forwarded[0].source == "realtime"


def test_the_forwarder_is_off_by_default():
    publisher = MemoryPublisher()
    forwarder = RealtimeForwarder(RealtimeSettings(), publisher=publisher)
    assert forwarder.forward(readings_of(raw_object((f"shellies/{GEN1}/online", ms(T0), "false")))) == []
    assert publisher.messages == []


def test_an_enabled_forwarder_publishes_to_the_alerts_topic():
    publisher = MemoryPublisher()
    settings = RealtimeSettings(realtime_alerts=True, gcp_project="p")
    sent = RealtimeForwarder(settings, publisher=publisher).forward(
        readings_of(raw_object((f"shellies/{GEN1}/online", ms(T0), "false")))
    )
    assert len(sent) == 1
    topic, data, attributes = publisher.messages[0]
    assert topic == "alerts" and attributes["kind"] == "offline"
    assert json.loads(data)["source"] == "realtime"


AWS_WIF = {
    "type": "external_account",
    "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/aws/providers/lambda",
    "subject_token_type": "urn:ietf:params:aws:token-type:aws4_request",
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
    "realtime@p.iam.gserviceaccount.com:generateAccessToken",
    "token_url": "https://sts.googleapis.com/v1/token",
    "credential_source": {
        "environment_id": "aws1",
        "regional_cred_verification_url": "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
    },
}


def test_a_wif_config_gives_aws_external_account_credentials_without_any_key(tmp_path):
    # Given the config file gcloud writes for an AWS provider / When credentials are built (no network yet)
    path = tmp_path / "wif.json"
    path.write_text(json.dumps(AWS_WIF))
    credentials = wif_credentials(str(path))
    # Then they impersonate the realtime service account, from the Lambda's AWS identity
    from google.auth import aws

    assert isinstance(credentials, aws.Credentials)
    assert credentials.service_account_email == "realtime@p.iam.gserviceaccount.com"


def test_a_service_account_key_is_refused_as_a_wif_config():
    with pytest.raises(PermanentError, match="never a service-account key"):
        wif_credentials(json.dumps({"type": "service_account", "private_key": "…"}))


class OneObjectStore:
    """An ObjectStore holding one raw object (only `get` is used here)."""

    name = "raw"

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.gets = 0

    def get(self, key: str) -> bytes:
        self.gets += 1
        return self.data


def test_forward_object_reads_nothing_while_realtime_alerts_are_off():
    from wattline.realtime import forward_object, get_forwarder

    get_forwarder.cache_clear()
    store = OneObjectStore(raw_object((f"shellies/{GEN1}/online", ms(T0), "false")))
    assert forward_object(store, "raw/x.json") == []  # type: ignore[arg-type]
    assert store.gets == 0


def test_an_emulator_endpoint_comes_from_pubsub_emulator_host_and_gets_a_scheme(monkeypatch):
    # Given the variable the Google emulators use (host:port, no scheme)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
    # Then the settings hold an http:// URL
    assert RealtimeSettings().pubsub_endpoint == "http://127.0.0.1:8085"
    monkeypatch.setenv("WATTLINE_PUBSUB_ENDPOINT", "http://127.0.0.1:9999")
    assert RealtimeSettings().pubsub_endpoint == "http://127.0.0.1:9999"


def test_watchdog_thresholds_read_the_same_nested_variables_as_the_detect_function(monkeypatch):
    monkeypatch.setenv("WATTLINE_ALERTS__OFFLINE_S", "900")
    monkeypatch.setenv("WATTLINE_ALERTS__SITE_ONSET_S", "120")
    monkeypatch.setenv("WATTLINE_RATED_MAX_POWER_W", "7000")
    options = RealtimeSettings().watchdog_options()
    assert (options.thresholds.offline_s, options.thresholds.site_onset_s) == (900, 120)
    assert options.thresholds.rated_max_power_w == 7000
    assert options.topic == "alerts"


def test_the_forwarder_publishes_over_rest_without_credentials_to_an_emulator():
    from wattline.adapters.pubsub_rest import RestPubSubPublisher

    settings = RealtimeSettings(realtime_alerts=True, gcp_project="p", pubsub_endpoint="127.0.0.1:8085")
    publisher = RealtimeForwarder(settings).publisher()
    assert isinstance(publisher, RestPubSubPublisher)
    assert publisher.endpoint == "http://127.0.0.1:8085"
    assert publisher._credentials is None


def test_the_forwarder_uses_the_wif_credentials_against_google():
    from google.auth import aws

    settings = RealtimeSettings(realtime_alerts=True, gcp_project="p", gcp_wif_config=json.dumps(AWS_WIF))
    publisher = RealtimeForwarder(settings).publisher()
    assert publisher.endpoint == "https://pubsub.googleapis.com"  # type: ignore[attr-defined]
    assert isinstance(publisher._credentials, aws.Credentials)  # type: ignore[attr-defined]


def test_without_a_wif_config_or_an_emulator_the_forwarder_refuses_to_guess_credentials():
    settings = RealtimeSettings(realtime_alerts=True, gcp_project="p")
    with pytest.raises(PermanentError, match="WATTLINE_GCP_WIF_CONFIG"):
        RealtimeForwarder(settings).publisher()


def test_the_validate_and_watchdog_handlers_import_no_grpc_client(tmp_path):
    # Given a Python with google-cloud-pubsub, grpc and duckdb installed (this venv)
    import subprocess
    import sys

    check = (
        "import os, sys\n"
        "os.environ.update(WATTLINE_BUCKET='b-test', AWS_REGION='eu-central-1', POWERTOOLS_TRACE_DISABLED='true')\n"
        "import aws_aggregator.validate, aws_aggregator.watchdog\n"
        "from wattline.realtime import RealtimeForwarder, RealtimeSettings\n"
        "RealtimeForwarder(RealtimeSettings(gcp_project='p', pubsub_endpoint='127.0.0.1:1')).publisher()\n"
        "prefixes = ('google.cloud.', 'google.api_core', 'grpc', 'duckdb')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    # When the two handler modules are imported and the publisher is built
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=tmp_path, check=False)
    # Then none of the gRPC client (or DuckDB) was loaded (the bare `google.cloud` namespace is preloaded by a
    # .pth file of functions-framework here; tests/integration/aws/test_bundle.py checks the bundle without site)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
