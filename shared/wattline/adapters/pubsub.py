"""Publisher port adapters: Google Cloud Pub/Sub, and a local JSONL outbox for the embedded stack.

`PubSubPublisher` builds its `PublisherClient` lazily. With `PUBSUB_EMULATOR_HOST` set the library itself talks
to the emulator over an insecure channel. Topics are short names (`energy-updated`); the adapter prefixes
`projects/<project>/topics/`. Errors: a missing topic → NotFoundError (configuration), 408/429/5xx,
deadline and connection failures → TransientError, other API errors → PermanentError (`raise … from exc`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wattline.errors import NotFoundError, PermanentError, TransientError

_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def _translate(exc: Exception, what: str) -> Exception:
    from google.api_core import exceptions as api_exceptions

    if isinstance(exc, api_exceptions.NotFound):
        return NotFoundError(f"{what}: topic not found; create it (infra/gcp/pubsub.sh or `wattline gcp init`)")
    transport = (ConnectionError, TimeoutError, api_exceptions.RetryError)
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        status = exc.code
        if (status is not None and int(status) in _TRANSIENT_STATUS) or isinstance(
            exc, (api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded)
        ):
            return TransientError(f"{what}: transient failure ({type(exc).__name__}); retry later")
        return PermanentError(f"{what}: {type(exc).__name__}; check the topic name and pubsub.publisher role")
    if isinstance(exc, transport):
        return TransientError(f"{what}: transient failure ({type(exc).__name__}); retry later")
    return exc


class PubSubPublisher:
    """Publishes to Pub/Sub topics of one project, waiting for the server's message id."""

    def __init__(
        self,
        project: str,
        *,
        client: Any | None = None,
        timeout_s: float = 30.0,
        ordering: bool = False,
    ) -> None:
        self.project = project
        self._client = client
        self._timeout = timeout_s
        self._ordering = ordering
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import google.cloud.pubsub_v1 as pubsub_v1

                options = pubsub_v1.types.PublisherOptions(enable_message_ordering=self._ordering)
                self._client = pubsub_v1.PublisherClient(publisher_options=options)
            return self._client

    def topic_path(self, topic: str) -> str:
        return topic if topic.startswith("projects/") else f"projects/{self.project}/topics/{topic}"

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        from google.api_core import retry as api_retry

        path = self.topic_path(topic)
        client = self._get_client()
        try:
            future = client.publish(
                path,
                data,
                retry=api_retry.Retry(timeout=self._timeout),
                **dict(attributes or {}),
            )
            message_id: str = future.result(timeout=self._timeout)
        except Exception as exc:
            raise _translate(exc, path) from exc
        return message_id

    def ensure_topic(self, topic: str) -> None:
        """Create the topic if missing (local set-up and tests; in the cloud infra/gcp creates it)."""
        from google.api_core import exceptions as api_exceptions

        try:
            self._get_client().create_topic(name=self.topic_path(topic))
        except api_exceptions.AlreadyExists:
            return
        except Exception as exc:
            raise _translate(exc, self.topic_path(topic)) from exc


class OutboxPublisher:
    """The embedded stack's topic: one JSONL file per topic under `root` (`<root>/<topic>.jsonl`).

    Each line is `{"id", "topic", "published_at", "attributes", "data"}` with `data` decoded as UTF-8 text
    (wattline publishes JSON). The message id is derived from the content, so a re-published message is
    recognisable; consumers dedup by it. Appends are serialised within the process.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def path(self, topic: str) -> Path:
        return self.root / f"{topic}.jsonl"

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None) -> str:
        attrs = dict(sorted((attributes or {}).items()))
        digest = hashlib.sha256(data + json.dumps(attrs, sort_keys=True).encode()).hexdigest()[:24]
        record = {
            "id": digest,
            "topic": topic,
            "published_at": datetime.now(tz=UTC).isoformat(),
            "attributes": attrs,
            "data": data.decode("utf-8", errors="replace"),
        }
        line = json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n"
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            with self.path(topic).open("a", encoding="utf-8") as handle:
                handle.write(line)
        return digest

    def read(self, topic: str) -> list[dict[str, Any]]:
        """Every message published to the topic so far, oldest first."""
        path = self.path(topic)
        if not path.is_file():
            return []
        with path.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]


def open_publisher(kind: str, *, project: str | None, outbox_dir: Path) -> PubSubPublisher | OutboxPublisher:
    """The publisher a service's settings name: "outbox" (JSONL files in `outbox_dir`) or "pubsub" (`project`)."""
    if kind == "outbox":
        return OutboxPublisher(outbox_dir)
    assert project is not None  # the services' settings validators require a project for pubsub
    return PubSubPublisher(project)
