"""One subscriber step, shared by the Cloud Functions and the local stack: a message in → sent once, held back,
or dead-lettered.

- a message that is not a valid notification, or a sink's permanent failure (SMTP 5xx, HTTP 4xx, bad
  configuration) → published to the dead-letter topic with the reason, logged, and acked (never retried);
- a transient failure (timeouts, 429, 5xx, SMTP 4xx) → raised, so Pub/Sub redelivers with backoff (the
  subscription's own dead-letter policy ends that after its maximum delivery attempts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from wattline.alerts.deliver import DeliveryLog, Outcome, Policy, Sink, deliver
from wattline.alerts.model import Notification
from wattline.errors import PermanentError
from wattline.ports import Publisher

logger = logging.getLogger(__name__)
DEAD_LETTERED = "dead_lettered"
_ONE_AT_A_TIME = threading.Lock()  # check-then-send must not interleave within an instance (deploy: max 1)


def handle_message(
    data: bytes,
    attributes: Mapping[str, str],
    *,
    sink: Sink | Callable[[], Sink],
    log: DeliveryLog,
    policy: Policy,
    now: datetime,
    dead_letter: Publisher | None = None,
    dead_letter_topic: str | None = None,
    message_id: str = "",
) -> str:
    """Returns the outcome (`sent`, `duplicate`, `quiet_hours`, `rate_limited` or `dead_lettered`).

    `sink` may be a factory, so that a sink that cannot be configured (PermanentError) dead-letters the message
    instead of failing every delivery forever.
    """
    name = getattr(sink, "name", "sink")
    try:
        target: Sink = sink() if callable(sink) else sink
        name = target.name
        try:
            notification = Notification.from_json(data)
        except ValueError as exc:
            raise PermanentError(f"not an alert notification: {exc}") from exc
        with _ONE_AT_A_TIME:
            outcome: Outcome = deliver(notification, target, log, policy, now=now)
    except PermanentError as exc:
        reason = str(exc)
        logger.error("notification dead-lettered", extra={"sink": name, "reason": reason, "id": message_id})
        if dead_letter is not None and dead_letter_topic:
            extra = {"sink": name, "reason": reason[:1000], "original_message_id": message_id}
            dead_letter.publish(dead_letter_topic, data, {**attributes, **extra})
        return DEAD_LETTERED
    logger.info("notification handled", extra={"sink": name, "outcome": outcome.value, "token": notification.token})
    return outcome.value
