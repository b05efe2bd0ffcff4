"""Pub/Sub emulator helpers for tests."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def emulator_env(address: str) -> Iterator[None]:
    """PUBSUB_EMULATOR_HOST set only while a client is built (clients read it in their constructor)."""
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = address
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


class RestEmulator:
    """The Pub/Sub emulator's REST API with urllib (what the AWS side's publisher speaks): topics, pull and push
    subscriptions, pull + ack. No gRPC client, no environment variable."""

    def __init__(self, address: str, project: str) -> None:
        self.url = f"http://{address}/v1/projects/{project}"
        self.project = project

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/{path}",
            data=json.dumps(body or {}).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer

    def topic(self, name: str) -> str:
        """Create the topic unless it exists; its path."""
        try:
            self._call("PUT", f"topics/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise
        return f"projects/{self.project}/topics/{name}"

    def subscription(self, topic: str, name: str, push_endpoint: str | None = None) -> str:
        """A new pull (or push) subscription on the topic (created too); its name."""
        body: dict[str, Any] = {"topic": self.topic(topic), "ackDeadlineSeconds": 30}
        if push_endpoint is not None:
            body["pushConfig"] = {"pushEndpoint": push_endpoint}
        self._call("PUT", f"subscriptions/{name}", body)
        return name

    def pull(self, subscription: str, *, want: int = 1, settle_s: float = 1.0, timeout_s: float = 30.0) -> list[Any]:
        """Messages ({data: bytes, attributes, messageId}) until `want` came and then nothing new for `settle_s`."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            answer = self._call(
                "POST", f"subscriptions/{subscription}:pull", {"maxMessages": 100, "returnImmediately": True}
            )
            received = answer.get("receivedMessages", [])
            if received:
                for item in received:
                    message = dict(item["message"])
                    message["data"] = base64.b64decode(message.get("data", ""))
                    message.setdefault("attributes", {})
                    out.append(message)
                ack_ids = [item["ackId"] for item in received]
                self._call("POST", f"subscriptions/{subscription}:acknowledge", {"ackIds": ack_ids})
                quiet_since = time.monotonic()
            elif len(out) >= want and time.monotonic() - quiet_since > settle_s:
                break
            else:
                time.sleep(0.2)
        return out
