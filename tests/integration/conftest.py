"""The real local servers of the integration tests, each started once per session and shared by every folder.

The start/stop logic is wattline.local.servers (the same code `wattline demo --stack emulators` runs): each server
gets a free 127.0.0.1 port and its own process group, and is stopped by that group. A missing binary skips the
tests that need it with the reason (CI installs them via infra/local/install-servers.sh). Tests isolate themselves
on the shared servers with fresh buckets, topics, projects or datasets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.gcs import FakeGcs
from helpers.servers import running

from wattline.local.servers import (
    ServerProcess,
    start_bqemulator,
    start_fake_gcs,
    start_mosquitto,
    start_moto,
    start_pubsub_emulator,
)

REPO = Path(__file__).resolve().parents[2]
BQEMULATOR_TOOLS = REPO / ".tools" / "bqemulator"
BQEMULATOR_PROJECT = "wattline-test"  # bqemulator serves any project; this one is only its start-up default
AWS_REGION = "eu-central-1"


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def aws_environment() -> Iterator[None]:
    """Dummy credentials and region for boto3; nothing may reach a real AWS account."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", AWS_REGION)
        patch.setenv("AWS_REGION", AWS_REGION)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wattline-test")
        yield


@pytest.fixture(scope="session")
def moto_endpoint(aws_environment: None, server_logs: Path) -> Iterator[str]:
    """moto's server (S3, SQS, IoT control plane): its endpoint URL, once it answers requests."""
    with running(lambda: start_moto(server_logs)) as server:
        yield server.url


@pytest.fixture(scope="session")
def mosquitto_port(server_logs: Path) -> Iterator[int]:
    """A real mosquitto broker on 127.0.0.1 (QoS 1 behaves as in production)."""
    with running(lambda: start_mosquitto(server_logs)) as server:
        yield server.port


@pytest.fixture(scope="session")
def pubsub_server(server_logs: Path) -> Iterator[ServerProcess]:
    """Google's Pub/Sub emulator (google-cloud-cli); each folder uses its own project on it."""
    with running(lambda: start_pubsub_emulator(server_logs)) as server:
        yield server


@pytest.fixture(scope="session")
def bq_emulator(server_logs: Path) -> Iterator[str]:
    """bqemulator from its own venv (.tools/bqemulator): its REST URL; any project, fresh datasets per test."""
    with running(lambda: start_bqemulator(BQEMULATOR_TOOLS, BQEMULATOR_PROJECT, server_logs)) as server:
        yield server.url


@pytest.fixture(scope="session")
def fake_gcs(server_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcs]:
    """A plain fake-gcs-server (no event notifications); tests use fresh buckets on it."""
    root = tmp_path_factory.mktemp("fake-gcs")
    with running(lambda: start_fake_gcs(root, server_logs)) as server:
        yield FakeGcs(server, root)
