"""Local stand-in for Eventarc: GCS Pub/Sub notifications → `google.cloud.storage.object.v1.*` CloudEvents.

fake-gcs-server (like real GCS with a Pub/Sub notification config) publishes one message per object change:
attributes `eventType=OBJECT_FINALIZE`, `bucketId`, `objectId`, `objectGeneration`, `eventTime`,
`payloadFormat=JSON_API_V1`, and the object resource as JSON data. Eventarc would deliver the same change to a
2nd-gen Cloud Function as a CloudEvent whose `data` is that object resource. `to_cloud_event` does that mapping
(pure); `post_cloud_event` sends it over HTTP (binary or structured mode); `NotificationRelay` pulls a
subscription and forwards every message, acking on 2xx and nacking otherwise so Pub/Sub redelivers — the
retry behaviour of Eventarc.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wattline.loader import LoaderOptions, LoadResult
    from wattline.ports import ObjectStore, Publisher, Warehouse
    from wattline.transfer import SyncReport

STORAGE_EVENT_TYPES = {
    "OBJECT_FINALIZE": "google.cloud.storage.object.v1.finalized",
    "OBJECT_DELETE": "google.cloud.storage.object.v1.deleted",
    "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived",
    "OBJECT_METADATA_UPDATE": "google.cloud.storage.object.v1.metadataUpdated",
}
FINALIZED = STORAGE_EVENT_TYPES["OBJECT_FINALIZE"]


def to_cloud_event(
    attributes: Mapping[str, str],
    data: bytes,
    *,
    message_id: str,
    publish_time: datetime | None = None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """A GCS notification (attributes, JSON data) → (CloudEvent attributes, CloudEvent data) as Eventarc sends."""
    event_type = attributes.get("eventType", "")
    if event_type not in STORAGE_EVENT_TYPES:
        raise ValueError(f"not a GCS object notification: eventType={event_type!r}")
    payload: dict[str, Any] = json.loads(data) if data else {}
    bucket = attributes.get("bucketId") or str(payload.get("bucket", ""))
    name = attributes.get("objectId") or str(payload.get("name", ""))
    payload.setdefault("bucket", bucket)
    payload.setdefault("name", name)
    if "objectGeneration" in attributes:
        payload.setdefault("generation", attributes["objectGeneration"])
    when = attributes.get("eventTime") or (publish_time or datetime.now(tz=UTC)).astimezone(UTC).isoformat()
    ce_attributes = {
        "specversion": "1.0",
        "id": message_id,
        "type": STORAGE_EVENT_TYPES[event_type],
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "subject": f"objects/{name}",
        "time": when,
        "datacontenttype": "application/json",
    }
    return ce_attributes, payload


def finalized_event(
    bucket: str, name: str, generation: str | int, *, event_id: str | None = None, time: datetime | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """The CloudEvent (attributes, data) Eventarc sends when `gs://bucket/name` generation is finalized."""
    attributes = {
        "eventType": "OBJECT_FINALIZE",
        "bucketId": bucket,
        "objectId": name,
        "objectGeneration": str(generation),
        "eventTime": (time or datetime.now(tz=UTC)).astimezone(UTC).isoformat(),
    }
    data = json.dumps({"bucket": bucket, "name": name, "generation": str(generation)}).encode()
    return to_cloud_event(attributes, data, message_id=event_id or f"{bucket}/{name}#{generation}")


PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def published_event(
    project: str, topic: str, data: bytes, attributes: Mapping[str, str] | None, *, message_id: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """The `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent Eventarc delivers for one Pub/Sub message."""
    import base64

    ce_attributes = {
        "specversion": "1.0",
        "id": message_id,
        "type": PUBLISHED,
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
        "time": datetime.now(tz=UTC).isoformat(),
        "datacontenttype": "application/json",
    }
    payload = {
        "subscription": f"projects/{project}/subscriptions/{topic}-eventarc",
        "message": {
            "data": base64.b64encode(data).decode("ascii"),
            "attributes": dict(attributes or {}),
            "messageId": message_id,
            "publishTime": ce_attributes["time"],
        },
    }
    return ce_attributes, payload


def encode_http(
    attributes: Mapping[str, str], data: Mapping[str, Any], *, binary: bool = True
) -> tuple[dict[str, str], bytes]:
    """Headers and body of the CloudEvent over HTTP (binary content mode, or structured JSON)."""
    from cloudevents.conversion import to_binary, to_structured
    from cloudevents.http import CloudEvent

    event = CloudEvent(dict(attributes), dict(data))
    headers, body = to_binary(event) if binary else to_structured(event)
    return dict(headers), body if isinstance(body, bytes) else str(body).encode()


def post_cloud_event(
    url: str, attributes: Mapping[str, str], data: Mapping[str, Any], *, binary: bool = True, timeout_s: float = 60.0
) -> int:
    """POST the CloudEvent to a functions-framework (or Cloud Run) URL; returns the HTTP status."""
    import requests

    headers, body = encode_http(attributes, data, binary=binary)
    response = requests.post(url, data=body, headers=headers, timeout=timeout_s)
    return int(response.status_code)


@dataclass
class RelayStats:
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    statuses: list[int] = field(default_factory=list)


class NotificationRelay:
    """Pulls GCS notifications from a Pub/Sub subscription and POSTs them as CloudEvents to a function URL.

    Ack on 2xx; nack (redelivery) on any other status or a connection error, like Eventarc's retry.
    Messages that are not object notifications are acked and skipped. Uses `PUBSUB_EMULATOR_HOST` locally.
    """

    def __init__(
        self,
        subscription: str,
        url: str,
        *,
        binary: bool = True,
        subscriber: Any | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.subscription = subscription
        self.url = url
        self.binary = binary
        self.timeout_s = timeout_s
        self._subscriber = subscriber
        self.stats = RelayStats()

    def _client(self) -> Any:
        if self._subscriber is None:
            import google.cloud.pubsub_v1 as pubsub_v1

            self._subscriber = pubsub_v1.SubscriberClient()
        return self._subscriber

    def pump(self, *, max_messages: int = 100, wait_s: float = 2.0, copies: int = 1) -> int:
        """One synchronous pull; forwards each message `copies` times (to test redelivery). Returns messages seen."""
        import requests
        from google.api_core import exceptions as api_exceptions

        client = self._client()
        try:
            response = client.pull(
                subscription=self.subscription, max_messages=max_messages, timeout=wait_s, return_immediately=False
            )
        except api_exceptions.DeadlineExceeded:
            return 0
        ack: list[str] = []
        nack: list[str] = []
        for received in response.received_messages:
            message = received.message
            try:
                attributes, data = to_cloud_event(
                    dict(message.attributes), bytes(message.data), message_id=str(message.message_id)
                )
            except ValueError:
                self.stats.skipped += 1
                ack.append(received.ack_id)
                continue
            ok = True
            for _ in range(copies):
                try:
                    status = post_cloud_event(self.url, attributes, data, binary=self.binary, timeout_s=self.timeout_s)
                except requests.RequestException:
                    status = 0
                self.stats.statuses.append(status)
                ok = ok and 200 <= status < 300
            if ok:
                self.stats.delivered += 1
                ack.append(received.ack_id)
            else:
                self.stats.failed += 1
                nack.append(received.ack_id)
        if ack:
            client.acknowledge(subscription=self.subscription, ack_ids=ack)
        if nack:
            client.modify_ack_deadline(subscription=self.subscription, ack_ids=nack, ack_deadline_seconds=0)
        return len(response.received_messages)

    def drain(
        self,
        *,
        idle_pulls: int = 2,
        wait_s: float = 1.0,
        copies: int = 1,
        max_rounds: int = 200,
        min_delivered: int = 0,
    ) -> RelayStats:
        """Pump until `idle_pulls` consecutive pulls return nothing and at least `min_delivered` messages were
        delivered in total (notifications may trail the writes that caused them), or `max_rounds` pulls."""
        idle = 0
        for _ in range(max_rounds):
            seen = self.pump(wait_s=wait_s, copies=copies)
            idle = 0 if seen else idle + 1
            if idle >= idle_pulls and self.stats.delivered + self.stats.skipped >= min_delivered:
                break
        return self.stats


def load_synced(
    report: SyncReport,
    target: ObjectStore,
    *,
    warehouse: Warehouse,
    publisher: Publisher,
    options: LoaderOptions,
) -> list[LoadResult]:
    """The embedded stack's Eventarc: after `transfer.sync`, deliver each copied object's finalize to the loader
    in-process (manifests are ignored by the loader like in the cloud). Returns the LoadResults in order."""
    from wattline.loader import FinalizedObject, load_daily_file

    results = []
    for info in report.copied:
        event = FinalizedObject(bucket=target.name, name=info.key, generation=info.generation)
        results.append(load_daily_file(event, store=target, warehouse=warehouse, publisher=publisher, options=options))
    return results
