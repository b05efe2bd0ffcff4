"""RestPubSubPublisher on real HTTP: the Pub/Sub emulator's REST API, and a scripted 127.0.0.1 server for the
failures the emulator cannot produce (throttling, 5xx, refused tokens, slow answers)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from alert_pubsub import PROJECT, Emulator
from helpers.pubsub import RestEmulator

from wattline.adapters.pubsub_rest import RestPubSubPublisher
from wattline.errors import NotFoundError, PermanentError, TransientError
from wattline.local.broker import HOST, free_port


@dataclass
class Scripted:
    """Answers POSTs with the scripted (status, body) in order, then 200 with a message id; records requests."""

    url: str = ""
    script: list[tuple[int, bytes]] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    state = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                headers = {key.lower(): value for key, value in self.headers.items()}
                state.requests.append({"path": self.path, "headers": headers, "body": json.loads(body)})
                status, answer = state.script.pop(0) if state.script else (200, b'{"messageIds": ["42"]}')
            time.sleep(state.delay_s)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state.url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_a_message_is_posted_as_base64_data_with_its_attributes(scripted: Scripted) -> None:
    publisher = RestPubSubPublisher("p", endpoint=scripted.url)
    assert publisher.publish("alerts", b'{"x": 1}', {"kind": "offline"}) == "42"
    (request,) = scripted.requests
    assert request["path"] == "/v1/projects/p/topics/alerts:publish"
    assert request["body"] == {
        "messages": [{"data": base64.b64encode(b'{"x": 1}').decode(), "attributes": {"kind": "offline"}}]
    }
    assert "authorization" not in request["headers"]


def test_credentials_put_their_bearer_token_on_the_request(scripted: Scripted) -> None:
    from google.oauth2.credentials import Credentials

    publisher = RestPubSubPublisher("p", endpoint=scripted.url, credentials=Credentials(token="ya29.test"))
    publisher.publish("alerts", b"x")
    assert scripted.requests[0]["headers"]["authorization"] == "Bearer ya29.test"


def test_throttling_and_server_errors_are_retried_by_urllib3(scripted: Scripted) -> None:
    scripted.script = [(429, b"{}"), (503, b"{}")]
    assert RestPubSubPublisher("p", endpoint=scripted.url).publish("alerts", b"x") == "42"
    assert len(scripted.requests) == 3


def test_a_server_error_that_lasts_is_transient_after_the_attempts(scripted: Scripted) -> None:
    scripted.script = [(503, b'{"error": {"status": "UNAVAILABLE"}}')] * 5
    with pytest.raises(TransientError, match="HTTP 503"):
        RestPubSubPublisher("p", endpoint=scripted.url, max_attempts=3).publish("alerts", b"x")
    assert len(scripted.requests) == 3


def test_a_refused_request_is_permanent_and_not_retried(scripted: Scripted) -> None:
    scripted.script = [(403, b'{"error": {"status": "PERMISSION_DENIED", "message": "denied"}}')]
    with pytest.raises(PermanentError, match="PERMISSION_DENIED"):
        RestPubSubPublisher("p", endpoint=scripted.url).publish("alerts", b"x")
    assert len(scripted.requests) == 1


def test_an_expired_token_that_cannot_be_refreshed_is_permanent(scripted: Scripted) -> None:
    from google.oauth2.credentials import Credentials

    scripted.script = [(401, b'{"error": {"status": "UNAUTHENTICATED"}}')]
    publisher = RestPubSubPublisher("p", endpoint=scripted.url, credentials=Credentials(token="expired"))
    with pytest.raises(PermanentError):
        publisher.publish("alerts", b"x")


def test_a_slow_server_is_a_transient_timeout(scripted: Scripted) -> None:
    scripted.delay_s = 1.0
    with pytest.raises(TransientError):
        RestPubSubPublisher("p", endpoint=scripted.url, timeout_s=0.2, max_attempts=2).publish("alerts", b"x")


def test_nothing_listening_is_a_transient_connection_error() -> None:
    with pytest.raises(TransientError, match="cannot reach Pub/Sub"):
        RestPubSubPublisher("p", endpoint=f"http://{HOST}:{free_port()}", max_attempts=2).publish("alerts", b"x")


@pytest.mark.emulators
def test_the_emulator_takes_the_message_and_a_pull_subscription_returns_it(pubsub: Emulator) -> None:
    # Given a topic made by the publisher itself, with a pull subscription (both over REST)
    rest = RestEmulator(pubsub.address, PROJECT)
    publisher = RestPubSubPublisher(PROJECT, endpoint=f"http://{pubsub.address}")
    publisher.ensure_topic("rest-topic")
    publisher.ensure_topic("rest-topic")  # idempotent
    subscription = rest.subscription("rest-topic", "rest-topic-observer")
    # When a message is published
    message_id = publisher.publish("rest-topic", b'{"hello": "pubsub"}', {"kind": "offline", "event": "opened"})
    # Then the subscription receives it byte for byte, with its attributes and id
    (message,) = rest.pull(subscription, want=1, settle_s=0.5)
    assert message["data"] == b'{"hello": "pubsub"}'
    assert message["attributes"] == {"kind": "offline", "event": "opened"}
    assert message["messageId"] == message_id


@pytest.mark.emulators
def test_a_missing_topic_on_the_emulator_is_not_found(pubsub: Emulator) -> None:
    with pytest.raises(NotFoundError):
        RestPubSubPublisher(PROJECT, endpoint=f"http://{pubsub.address}").publish("no-such-topic", b"x")
