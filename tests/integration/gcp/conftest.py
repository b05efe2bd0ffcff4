"""The GCP half's view of the shared local servers (tests/integration/conftest.py), plus what only it needs:

- `pubsub_emulator`: the shared Pub/Sub emulator with clients for project PROJECT;
- `notifying_gcs`: a second fake-gcs-server publishing finalize notifications for `daily/` to the emulator (the
  topic is created first, or fake-gcs-server drops events silently) — its own instance, because a plain one shared
  with other tests would announce their `daily/` objects too;
- `loader_server`: functions-framework serving services/gcp-loader/main.py (`load_daily_file`), started per use
  because the DuckDB warehouse file it writes is single-writer: stop it before reading the warehouse.

The Pub/Sub client of this process is pointed at the emulator only while it is being built (`emulator_env`), so no
environment variable leaks into other tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gcp_servers import NOTIFY_SUBSCRIPTION, NOTIFY_TOPIC, PROJECT
from helpers.gcs import FakeGcs
from helpers.pubsub import emulator_env
from helpers.servers import running

from wattline.local.servers import ServerProcess, functions_framework, start_fake_gcs

REPO = Path(__file__).resolve().parents[3]


@dataclass
class PubSubEmulator:
    server: ServerProcess

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
def pubsub_emulator(pubsub_server: ServerProcess) -> PubSubEmulator:
    return PubSubEmulator(pubsub_server)


@pytest.fixture(scope="session")
def notifying_gcs(
    server_logs: Path, tmp_path_factory: pytest.TempPathFactory, pubsub_emulator: PubSubEmulator
) -> Iterator[FakeGcs]:
    """fake-gcs-server publishing OBJECT_FINALIZE of daily/ objects to the emulator's notification topic."""
    pubsub_emulator.topic(NOTIFY_TOPIC, NOTIFY_SUBSCRIPTION)
    root = tmp_path_factory.mktemp("fake-gcs-events")
    events = ["-event.pubsub-project-id", PROJECT, "-event.pubsub-topic", NOTIFY_TOPIC]
    events += ["-event.object-prefix", "daily/", "-event.list", "finalize"]
    env = {"PUBSUB_EMULATOR_HOST": pubsub_emulator.address}
    with running(
        lambda: start_fake_gcs(root, server_logs, name="fake-gcs-events", extra_args=events, env=env)
    ) as server:
        yield FakeGcs(server, root, PROJECT)


@pytest.fixture(scope="session")
def loader_server(server_logs: Path) -> Any:
    """Start functions-framework serving the loader with the given WATTLINE_* environment (a context manager)."""

    @contextlib.contextmanager
    def run(env: Mapping[str, str]) -> Iterator[ServerProcess]:
        source = REPO / "services/gcp-loader/main.py"
        with running(lambda: functions_framework(source, "load_daily_file", server_logs, env, REPO).start()) as server:
            yield server

    return run
