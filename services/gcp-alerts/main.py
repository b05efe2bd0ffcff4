"""Cloud Functions (2nd gen) of gcp-alerts, each deployable on its own (deploy.sh):

- `detect`        Pub/Sub `energy-updated` and the Cloud Scheduler topic `alerts-tick` → detection over the
                  warehouse → new alert states published to `alerts`, recorded in the `alerts` ledger.
- `notify_email`  Pub/Sub `alerts` → SMTP (STARTTLS), once per alert key and event.
- `notify_slack`  Pub/Sub `alerts` → Slack Incoming Webhook (Block Kit), once per alert key and event.
- `notify_outbox` Pub/Sub `alerts` → a local JSON-lines file (the embedded stack; no configuration).

Thin adapters: check the event type → parse → one domain call → ack (return) or raise (TransientError: Pub/Sub
redelivers). A permanent failure of `detect` is logged and acked (the next tick runs it again); the notifiers'
permanent failures are dead-lettered and acked inside `wattline.alerts.subscriber`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import functions_framework
from cloudevents.http import CloudEvent

from gcp_alerts.deps import get_deps
from gcp_alerts.pubsub_event import PUBLISHED, message_of
from wattline import observability
from wattline.alerts.deliver import Sink
from wattline.alerts.pipeline import DetectRequest, run_detect
from wattline.alerts.subscriber import handle_message
from wattline.errors import PermanentError

logger = observability.configure("gcp-alerts")  # cold start: JSON lines for Cloud Logging


@functions_framework.cloud_event
def detect(cloud_event: CloudEvent) -> None:
    if cloud_event["type"] != PUBLISHED:
        logger.info("ignoring event type", extra={"type": cloud_event["type"]})
        return
    deps = get_deps()
    try:
        request = DetectRequest.from_message(message_of(cloud_event).data)
    except PermanentError as exc:
        logger.error("bad detect trigger, acked", extra={"id": cloud_event["id"], "error": str(exc)})
        return
    try:
        run_detect(
            request,
            source=deps.source,
            store=deps.store,
            publisher=deps.publisher,
            options=deps.settings.detect_options(),
            now=deps.settings.now(),
        )
    except PermanentError as exc:  # configuration or SQL: a retry cannot help, and the next tick runs anyway
        logger.error("detection failed permanently, acked", extra={"id": cloud_event["id"], "error": str(exc)})


def _notify(cloud_event: CloudEvent, sink: Callable[[], Sink]) -> None:
    if cloud_event["type"] != PUBLISHED:
        logger.info("ignoring event type", extra={"type": cloud_event["type"]})
        return
    deps = get_deps()
    try:
        message = message_of(cloud_event)
    except PermanentError as exc:
        logger.error("unreadable message, acked", extra={"id": cloud_event["id"], "error": str(exc)})
        return
    handle_message(
        message.data,
        message.attributes,
        sink=sink,
        log=deps.delivery_log,
        policy=deps.settings.policy(),
        now=datetime.now(UTC),
        dead_letter=deps.publisher,
        dead_letter_topic=deps.settings.alerts_dead_letter_topic,
        message_id=message.message_id,
    )


@functions_framework.cloud_event
def notify_email(cloud_event: CloudEvent) -> None:
    _notify(cloud_event, lambda: get_deps().email_sink)


@functions_framework.cloud_event
def notify_slack(cloud_event: CloudEvent) -> None:
    _notify(cloud_event, lambda: get_deps().slack_sink)


@functions_framework.cloud_event
def notify_outbox(cloud_event: CloudEvent) -> None:
    _notify(cloud_event, lambda: get_deps().outbox_sink)
