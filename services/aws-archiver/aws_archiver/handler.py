"""archiver: the daily schedule (or a manual invocation) → bundle aggregated raw days into Glacier, then delete them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from aws_archiver.settings import METRICS_NAMESPACE, SERVICE, get_settings, get_stores
from wattline.archive import ArchiveStatus, archive_day, archive_due

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


class ArchiveRequest(BaseModel):
    """From the schedule: {"now": <scheduled time>}. By hand: {"device_id": ..., "date": "YYYY-MM-DD"}."""

    model_config = ConfigDict(extra="ignore")

    now: AwareDatetime | None = None
    device_id: str | None = None
    date: dt.date | None = None


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ArchiveRequest)
def handler(event: ArchiveRequest, context: LambdaContext) -> dict[str, Any]:
    """Returns one result per device-day; storage failures raise (the schedule retries), bad input never loops."""
    settings = get_settings()
    store, bundles = get_stores()
    if event.device_id is not None and event.date is not None:
        results = [
            archive_day(
                store,
                bundles,
                event.device_id,
                event.date,
                storage_class=settings.archive_storage_class,
                concurrency=settings.archive_concurrency,
            )
        ]
    else:
        results = archive_due(
            store,
            bundles,
            today=(event.now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date(),
            min_age_days=settings.archive_min_age_days,
            lookback_days=settings.archive_lookback_days,
            storage_class=settings.archive_storage_class,
            concurrency=settings.archive_concurrency,
        )
    archived = [result for result in results if result.status is ArchiveStatus.ARCHIVED]
    metrics.add_metric(name="DeviceDaysArchived", unit=MetricUnit.Count, value=len(archived))
    metrics.add_metric(name="RawObjectsArchived", unit=MetricUnit.Count, value=sum(r.deleted for r in archived))
    for result in results:
        logger.info("archive", extra=result.model_dump(mode="json"))
    return {"results": [result.model_dump(mode="json") for result in results]}
