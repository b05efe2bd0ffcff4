"""The alert tests' client of the shared Pub/Sub emulator: topics, push and pull subscriptions in project PROJECT."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from google.api_core.exceptions import DeadlineExceeded
from helpers.pubsub import emulator_env

from wattline.local.servers import ServerProcess

PROJECT = "wattline-alerts-test"


@dataclass
class Emulator:
    server: ServerProcess
    _publisher: Any = None
    _subscriber: Any = None

    @property
    def address(self) -> str:
        return self.server.address

    def clients(self) -> tuple[Any, Any]:
        if self._publisher is None:
            from google.cloud import pubsub_v1

            with emulator_env(self.address):
                self._publisher = pubsub_v1.PublisherClient()
                self._subscriber = pubsub_v1.SubscriberClient()
        return self._publisher, self._subscriber

    def topic(self, name: str) -> str:
        publisher, _ = self.clients()
        path = f"projects/{PROJECT}/topics/{name}"
        with contextlib.suppress(Exception):
            publisher.create_topic(name=path)
        return path

    def push(self, topic: str, subscription: str, endpoint: str) -> None:
        _, subscriber = self.clients()
        subscriber.create_subscription(
            name=f"projects/{PROJECT}/subscriptions/{subscription}",
            topic=self.topic(topic),
            push_config={"push_endpoint": endpoint},
            ack_deadline_seconds=30,
        )

    def pull_subscription(self, topic: str, subscription: str) -> str:
        _, subscriber = self.clients()
        path = f"projects/{PROJECT}/subscriptions/{subscription}"
        subscriber.create_subscription(name=path, topic=self.topic(topic), ack_deadline_seconds=30)
        return path

    def publish(self, topic: str, data: bytes, **attributes: str) -> str:
        publisher, _ = self.clients()
        return str(publisher.publish(self.topic(topic), data, **attributes).result(timeout=30))

    def pull(self, subscription: str, *, settle_s: float = 2.0, timeout_s: float = 60.0, want: int = 1) -> list[Any]:
        """Pull until at least `want` messages came and then nothing new for `settle_s`."""
        _, subscriber = self.clients()
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                response = subscriber.pull(subscription=subscription, max_messages=100, timeout=1)
            except DeadlineExceeded:
                response = None
            if response is not None and response.received_messages:
                out.extend(m.message for m in response.received_messages)
                subscriber.acknowledge(
                    subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages]
                )
                quiet_since = time.monotonic()
            elif len(out) >= want and time.monotonic() - quiet_since > settle_s:
                break
            else:
                time.sleep(0.2)
        return out
