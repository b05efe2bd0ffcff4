"""The Pub/Sub message inside an Eventarc CloudEvent (or a plain push converted by functions-framework)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cloudevents.http import CloudEvent

from wattline.errors import PermanentError

PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


@dataclass(frozen=True)
class PubSubMessage:
    data: bytes
    attributes: dict[str, str]
    message_id: str


def message_of(cloud_event: CloudEvent) -> PubSubMessage:
    body: Any = cloud_event.get_data() or {}
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        raise PermanentError("a messagePublished event without a message")
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PermanentError("Pub/Sub message data is not base64") from exc
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    return PubSubMessage(data, attributes, str(message.get("messageId") or message.get("message_id") or ""))
