"""The deployable aws-aggregator bundle, as built by infra/aws/build-bundle.sh, runs on its own.

The bundle is built for this machine's Python (BUNDLE_PYTHON_VERSION; the deployed one is built for the Lambda
runtime's 3.12 from the same pins) into a temporary directory, and each check runs in `python -I -S` with the bundle
as the only non-stdlib entry on sys.path: no site-packages, no workspace. The watchdog and validate handlers run from
it against moto server S3 and the Pub/Sub emulator, and the messages are pulled from a subscription.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.aws_events import ACCOUNT, object_created, scheduled_event
from helpers.pubsub import RestEmulator
from helpers.raw import batch_alerts, gen1_power, gen2_power, lwt, readings_in

from wattline.adapters.s3_store import S3ObjectStore
from wattline.alerts.thresholds import Thresholds
from wattline.local.servers import ServerProcess

pytestmark = [pytest.mark.servers, pytest.mark.emulators, pytest.mark.slow, pytest.mark.network]

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-central-1"
PROJECT = "wattline-bundle-test"

# Runs inside `python -I -S BUNDLE_DIR`: imports the handlers from the bundle, runs the events given on the command
# line, and reports what it loaded from where.
RUNNER = r"""
import json, sys, sysconfig
bundle = sys.argv[1]
sys.path.insert(0, bundle)
assert not any("site-packages" in entry or "dist-packages" in entry for entry in sys.path), sys.path
import aws_aggregator.validate, aws_aggregator.watchdog

class Context:
    function_name = "wattline-aws-aggregator-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:wattline-aws-aggregator-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/wattline-aws-aggregator-test"
    log_stream_name = "test"
    def get_remaining_time_in_millis(self):
        return 60_000

handlers = {"validate": aws_aggregator.validate.handler, "watchdog": aws_aggregator.watchdog.handler}
results = [handlers[name](event, Context()) for name, event in json.loads(sys.argv[2])]
stdlib = tuple(sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib"))
files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
outside = sorted({f for f in files if f and not f.startswith((bundle, *stdlib))})
grpc = sorted(m for m in sys.modules if m.startswith(("google.cloud", "google.api_core", "grpc", "duckdb")))
print("RESULT " + json.dumps({"results": results, "outside": outside, "grpc": grpc}, default=str))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The aws-aggregator bundle built by build-bundle.sh for this Python, in a temporary directory."""
    build = tmp_path_factory.mktemp("aws-aggregator-build")
    env = {
        **os.environ,
        "BUNDLE_PYTHON_VERSION": f"{sys.version_info.major}.{sys.version_info.minor}",
        "BUNDLE_BUILD_DIR": str(build),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "infra/aws/build-bundle.sh"), str(ROOT / "services/aws-aggregator")],
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
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "WATTLINE_BUCKET": bucket,
        "WATTLINE_S3_ENDPOINT_URL": moto_endpoint,
        "WATTLINE_REALTIME_ALERTS": "true",
        "WATTLINE_GCP_PROJECT": PROJECT,
        "PUBSUB_EMULATOR_HOST": pubsub_server.address,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "wattline-test",
    }
    # When validate (the last will's Object Created event) and the watchdog (a scheduled event) run from the bundle
    scheduled = scheduled_event(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/wattline-watchdog")
    first = run_bundle(bundle, [("validate", object_created(bucket, lwt_key)), ("watchdog", scheduled)], env)
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
    second = run_bundle(bundle, [("watchdog", scheduled)], env)
    # Then it finds the same silence but publishes nothing
    assert second["results"][0]["published"] == [] and len(second["results"][0]["already_published"]) == 1
    assert rest.pull(subscription, want=0, settle_s=1.5, timeout_s=5) == []
