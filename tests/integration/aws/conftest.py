"""Real local servers for the AWS-side integration tests: moto server (S3 + SQS) and mosquitto (MQTT).

Each server is started once per session on a free 127.0.0.1 port in its own process group and stopped by that
group. A missing server binary skips its tests with the reason (CI installs them via infra/local/install-servers.sh).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import DataBucket, FakeLambdaContext

REGION = "eu-central-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout} s: {log.read_text()[-2000:]}")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def aws_environment() -> Iterator[None]:
    """Dummy credentials and region for boto3; nothing may reach a real AWS account."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        yield


@pytest.fixture(scope="session")
def moto_endpoint(aws_environment: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`moto_server -H 127.0.0.1 -p PORT` from the venv; yields its endpoint URL."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        found = shutil.which("moto_server")
        if found is None:
            pytest.skip("moto_server not found: install the dev dependencies (uv sync --all-packages --group dev)")
        binary = Path(found)
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, log)
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:  # listening is not ready: wait for a real answer
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def mosquitto_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real mosquitto broker on 127.0.0.1 (QoS 1 behaves as in production)."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary is None:
        pytest.skip("mosquitto not installed: run `make servers` (apt-get install -y mosquitto)")
    port = free_port()
    directory = tmp_path_factory.mktemp("mosquitto")
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    log = directory / "mosquitto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(port, process, log)
        yield port
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture(scope="session")
def sqs_client(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION)


@pytest.fixture
def data_bucket(s3_client: Any, sqs_client: Any, moto_endpoint: str) -> DataBucket:
    name = f"wattline-data-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    queue_url = sqs_client.create_queue(QueueName=f"{name}-events")["QueueUrl"]
    queue_arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3_client.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}},
                }
            ]
        },
    )
    return DataBucket(name, queue_url, moto_endpoint)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aggregator_env(data_bucket: DataBucket, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataBucket]:
    """The service's environment pointing at moto; the handlers' cached settings and stores are reset around."""
    from aws_aggregator import settings

    monkeypatch.setenv("WATTLINE_BUCKET", data_bucket.name)
    monkeypatch.setenv("WATTLINE_S3_ENDPOINT_URL", data_bucket.endpoint)
    monkeypatch.setenv("WATTLINE_CONCURRENCY", "8")
    monkeypatch.setenv("WATTLINE_GRACE_HOURS", "2")
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
    yield data_bucket
    settings.get_settings.cache_clear()
    settings.get_store.cache_clear()
