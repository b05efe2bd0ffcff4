"""The deployable AWS bundles, as built by infra/aws/build-bundle.sh, run on their own.

Each bundle is built for this machine's Python (BUNDLE_PYTHON_VERSION; the deployed one is built for the Lambda
runtime's 3.12 from the same uv.lock export) into a temporary directory, and each check runs in `python -I -S` with
the bundle as the only non-stdlib entry on sys.path: no site-packages, no workspace. From the aggregator's bundle the
watchdog and validate handlers run against moto server S3 and the Pub/Sub emulator (the messages are pulled from a
subscription), and plan and aggregate run a closed day; from the archiver's bundle, which leaves numpy and
google-auth out, the archiver packs a day into Glacier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.archive import put_daily_manifest
from helpers.aws_events import ACCOUNT, object_created, scheduled_event
from helpers.pubsub import RestEmulator
from helpers.raw import batch_alerts, gen1_power, gen2_power, lwt, readings_in

from wattline import keys
from wattline.adapters.s3_store import S3ObjectStore
from wattline.alerts.thresholds import Thresholds
from wattline.local.servers import ServerProcess

pytestmark = [pytest.mark.servers, pytest.mark.emulators, pytest.mark.slow, pytest.mark.network]

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-central-1"
PROJECT = "wattline-bundle-test"
VALIDATE, WATCHDOG = "aws_aggregator.validate.handler", "aws_aggregator.watchdog.handler"
PLAN, AGGREGATE = "aws_aggregator.plan.handler", "aws_aggregator.aggregate.handler"
ARCHIVE = "aws_archiver.handler.handler"

# Runs inside `python -I -S BUNDLE_DIR`: imports the handlers from the bundle, runs the events given on the command
# line, and reports what it loaded from where.
RUNNER = r"""
import importlib, json, logging, sys, sysconfig
bundle = sys.argv[1]
sys.path.insert(0, bundle)
assert not any("site-packages" in entry or "dist-packages" in entry for entry in sys.path), sys.path

class Context:
    function_name = "wattline-bundle-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:wattline-bundle-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/wattline-bundle-test"
    log_stream_name = "test"
    def get_remaining_time_in_millis(self):
        return 60_000

def handler(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)

results = [handler(path)(event, Context()) for path, event in json.loads(sys.argv[2])]
logging.getLogger("wattline.bundle_probe").warning("probe", extra={"probe": True})
stdlib = tuple(sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib"))
files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
outside = sorted({f for f in files if f and not f.startswith((bundle, *stdlib))})
grpc = sorted(m for m in sys.modules if m.startswith(("google.cloud", "google.api_core", "grpc", "duckdb")))
watched = ("numpy", "google.auth", "typer", "rich", "wattline.cli", "wattline.local")
loaded = sorted(m for m in watched if m in sys.modules)
sys.stdout.flush()
print("RESULT " + json.dumps({"results": results, "outside": outside, "grpc": grpc, "loaded": loaded}, default=str))
"""


def build_bundle(tmp_path_factory: pytest.TempPathFactory, service: str) -> Path:
    """The service's bundle built by build-bundle.sh for this Python, in a temporary directory."""
    build = tmp_path_factory.mktemp(f"{service}-build")
    env = {
        **os.environ,
        "BUNDLE_PYTHON_VERSION": f"{sys.version_info.major}.{sys.version_info.minor}",
        "BUNDLE_BUILD_DIR": str(build),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "infra/aws/build-bundle.sh"), str(ROOT / "services" / service)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"build-bundle.sh failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        pytest.skip(f"build-bundle.sh failed (no PyPI?): {done.stderr[-500:]}")
    return build / "bundle"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory, "aws-aggregator")


@pytest.fixture(scope="module")
def archiver_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory, "aws-archiver")


def run_bundle(bundle: Path, events: list[tuple[str, dict[str, Any]]], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(bundle), json.dumps(events)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=bundle.parent,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    report: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    report["logs"] = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return report


def test_the_bundle_contains_no_grpc_client(bundle: Path) -> None:
    assert not (bundle / "google" / "cloud").exists()
    assert not list(bundle.glob("grpc*")) and not list(bundle.glob("duckdb*"))
    assert (bundle / "google" / "auth" / "transport" / "urllib3.py").is_file()


def test_the_handlers_run_from_the_bundle_and_publish_to_the_emulator(
    bundle: Path, moto_endpoint: str, pubsub_server: ServerProcess, tmp_path: Path
) -> None:
    # Given a data bucket on moto with real receive times: meter A silent for 20 minutes, meter B talking, and
    # meter C's last will written a minute ago
    now = datetime.now(UTC)
    bucket = f"wattline-bundle-{uuid.uuid4().hex[:10]}"
    store = S3ObjectStore(bucket, endpoint_url=moto_endpoint, region=REGION)
    store.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    a, b, c = "shellyem-A4CF12F454A3", "shellyproem50-08f9e0e67204", "shellyem-C45BBE6C2E8F"
    gen1_power(store, a, now - timedelta(minutes=50), now - timedelta(minutes=20))
    gen2_power(store, b, now - timedelta(minutes=50), now - timedelta(seconds=5))
    gen1_power(store, c, now - timedelta(minutes=50), now - timedelta(minutes=2))
    lwt_key = lwt(store, c, now - timedelta(minutes=1))
    # ... and the alerts topic on the emulator with a pull subscription
    rest = RestEmulator(pubsub_server.address, PROJECT)
    subscription = rest.subscription("alerts", f"bundle-observer-{uuid.uuid4().hex[:8]}")
    env = {
        **lambda_env(tmp_path, bucket, moto_endpoint),
        "WATTLINE_REALTIME_ALERTS": "true",
        "WATTLINE_GCP_PROJECT": PROJECT,
        "PUBSUB_EMULATOR_HOST": pubsub_server.address,
    }
    # When validate (the last will's Object Created event) and the watchdog (a scheduled event) run from the bundle
    scheduled = scheduled_event(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/wattline-watchdog")
    first = run_bundle(bundle, [(VALIDATE, object_created(bucket, lwt_key)), (WATCHDOG, scheduled)], env)
    # Then everything came from the bundle or the standard library, without any gRPC client
    assert first["outside"] == [] and first["grpc"] == []
    # ... and the emulator got C's last will and A's silence, keyed as the batch detector keys them
    messages = [json.loads(m["data"]) for m in rest.pull(subscription, want=2, settle_s=1.0)]
    got = {(m["alert"]["kind"], m["alert"]["device_id"], m["alert"]["details"]["reason"]) for m in messages}
    assert got == {("offline", c, "lwt"), ("offline", a, "silent")}
    batch = batch_alerts(readings_in(store), now, ZoneInfo("Europe/Kyiv"), Thresholds())
    assert {m["alert"]["key"] for m in messages} <= {alert.key for alert in batch}
    assert first["results"][1]["published"] == [
        f"{m['alert']['key']}:opened" for m in messages if m["alert"]["details"]["reason"] == "silent"
    ]
    # When the watchdog runs again in a fresh container
    second = run_bundle(bundle, [(WATCHDOG, scheduled)], env)
    # Then it finds the same silence but publishes nothing
    assert second["results"][0]["published"] == [] and len(second["results"][0]["already_published"]) == 1
    assert rest.pull(subscription, want=0, settle_s=1.5, timeout_s=5) == []


def lambda_env(home: Path, bucket: str, moto_endpoint: str) -> dict[str, str]:
    """A Lambda function's environment: the data bucket on moto, Powertools without X-Ray, nothing else."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "WATTLINE_BUCKET": bucket,
        "WATTLINE_S3_ENDPOINT_URL": moto_endpoint,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "wattline-test",
    }


def new_store(moto_endpoint: str, *, versioned: bool = False) -> S3ObjectStore:
    bucket = f"wattline-bundle-{uuid.uuid4().hex[:10]}"
    store = S3ObjectStore(bucket, endpoint_url=moto_endpoint, region=REGION)
    store.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        store.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return store


def test_the_daily_run_plans_and_aggregates_from_the_bundle(bundle: Path, moto_endpoint: str, tmp_path: Path) -> None:
    # Given an hour of two meters' raw data on a day that has closed
    day = datetime.now(UTC).date() - timedelta(days=2)
    start = datetime.combine(day, time(10), UTC)
    store = new_store(moto_endpoint)
    a, b = "shellyem-A4CF12F454A3", "shellyproem50-08f9e0e67204"
    gen1_power(store, a, start, start + timedelta(hours=1))
    gen2_power(store, b, start, start + timedelta(hours=1))
    env = lambda_env(tmp_path, store.name, moto_endpoint)
    # When plan runs from the bundle the next day, then aggregate on each item it planned
    now = datetime.combine(day + timedelta(days=1), time(12), UTC)
    items = run_bundle(bundle, [(PLAN, {"now": now.isoformat()})], env)["results"][0]["items"]
    report = run_bundle(bundle, [(AGGREGATE, item) for item in items], env)
    # Then both device-days were planned and written, every reading kept, all from the bundle
    assert sorted((item["device_id"], item["date"]) for item in items) == sorted(
        [(a, day.isoformat()), (b, day.isoformat())]
    )
    assert all(result["readings"] > 0 and result["quarantined"] == 0 for result in report["results"])
    assert store.head(keys.daily_manifest_key(day, a)) is not None
    assert store.head(keys.daily_manifest_key(day, b)) is not None
    assert report["outside"] == [] and report["grpc"] == [] and report["loaded"] == ["numpy"]
    # ... and the wattline.* loggers wrote Powertools JSON lines of the service
    (probe,) = [entry for entry in report["logs"] if entry.get("name") == "wattline.bundle_probe"]
    assert (probe["level"], probe["service"], probe["probe"]) == ("WARNING", "aws-aggregator", True)


def test_the_archiver_runs_from_its_bundle_without_numpy_or_google_auth(
    archiver_bundle: Path, moto_endpoint: str, tmp_path: Path
) -> None:
    # Given an aggregated device-day of raw objects in a versioned bucket
    day, device = date(2026, 11, 20), "shellyem-C45BBE6C2E8F"
    store = new_store(moto_endpoint, versioned=True)
    for i in range(4):
        received_ms = 1_763_596_800_000 + i * 30_000
        body = b'{"topic":"shellies/%s/emeter/0/power","received_ms":%d,"payload_b64":"MTAw"}'
        store.put(keys.raw_key(day, device, received_ms, str(uuid.UUID(int=i))), body % (device.encode(), received_ms))
    put_daily_manifest(store, day, device, 4)
    # When the archiver archives it from its bundle (the bundle that leaves numpy and google-auth out)
    event = {"device_id": device, "date": day.isoformat()}
    report = run_bundle(archiver_bundle, [(ARCHIVE, event)], lambda_env(tmp_path, store.name, moto_endpoint))
    # Then the day is one Glacier object and its raw objects are gone
    (result,) = report["results"][0]["results"]
    assert (result["status"], result["objects"], result["deleted"]) == ("archived", 4, 4)
    head = store.client.head_object(Bucket=store.name, Key=result["bundle_key"])
    assert head["StorageClass"] == "GLACIER"
    assert store.list_keys(keys.raw_prefix(day, device)) == []
    # ... with nothing loaded from outside the bundle and neither numpy, google-auth nor the CLI imported
    assert report["outside"] == [] and report["grpc"] == [] and report["loaded"] == []
    assert not (archiver_bundle / "numpy").exists() and not (archiver_bundle / "google").exists()
