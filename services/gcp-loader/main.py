"""Cloud Function (2nd gen) `load_daily_file`: GCS finalize of a daily readings file → energy_hourly + event.

Thin adapter: check the event type → build the FinalizedObject → call `wattline.loader.load_daily_file` →
ack (return) or raise. TransientError propagates (HTTP 500) so Eventarc retries; permanent problems are
logged and acked. Deploy with deploy.sh (see docs/gcp.md).
"""

from __future__ import annotations

import functions_framework
from cloudevents.http import CloudEvent

from gcp_loader.deps import get_deps
from wattline import observability, process_memory
from wattline.errors import PermanentError
from wattline.loader import FinalizedObject
from wattline.loader import load_daily_file as load

FINALIZED = "google.cloud.storage.object.v1.finalized"
logger = observability.configure("gcp-loader")  # cold start: JSON lines for Cloud Logging
process_memory.keep_freed_memory_for_the_next_day()  # a warm instance loads one daily file after another


@functions_framework.cloud_event
def load_daily_file(cloud_event: CloudEvent) -> None:
    if cloud_event["type"] != FINALIZED:
        logger.info("ignoring event type", extra={"type": cloud_event["type"], "id": cloud_event["id"]})
        return
    deps = get_deps()
    try:
        event = FinalizedObject.from_cloud_event(cloud_event.get_attributes(), cloud_event.get_data() or {})
        if deps.settings.bucket and event.bucket != deps.settings.bucket:
            logger.info("ignoring other bucket", extra={"bucket": event.bucket})
            return
        store = deps.store(event.bucket)
        result = load(event, store=store, warehouse=deps.warehouse, publisher=deps.publisher, options=deps.options)
    except PermanentError as exc:
        logger.error("permanent failure, acked", extra={"id": cloud_event["id"], "error": str(exc)})
        return
    fields = {"status": result.status.value, "object": event.name, "generation": event.generation}
    logger.info(result.detail, extra={**fields, "rows": result.rows, "message_id": result.message_id})
