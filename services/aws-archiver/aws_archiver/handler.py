"""archiver: the daily schedule (or a manual invocation) → bundle aggregated raw days into Glacier, then delete them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_archiver.settings import METRICS_NAMESPACE, SERVICE, get_settings, get_stores
from wattline import observability
from wattline.archive import ArchiveStatus
from wattline.archive_stage import ArchiveRequest, run_archive

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
observability.configure(SERVICE)  # cold start: this logger's JSON for the wattline.* loggers too

__all__ = ["ArchiveRequest", "handler"]


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ArchiveRequest)
def handler(event: ArchiveRequest, context: LambdaContext) -> dict[str, Any]:
    """Returns one result per device-day; storage failures raise (the schedule retries), bad input never loops.
    The same stage (wattline.archive_stage.run_archive) runs on a home as `wattline archive` and the local schedule."""
    store, bundles = get_stores()
    results = run_archive(store, bundles, get_settings(), event)
    archived = [result for result in results if result.status is ArchiveStatus.ARCHIVED]
    metrics.add_metric(name="DeviceDaysArchived", unit=MetricUnit.Count, value=len(archived))
    metrics.add_metric(name="RawObjectsArchived", unit=MetricUnit.Count, value=sum(r.deleted for r in archived))
    for result in results:
        logger.info("archive", extra=result.model_dump(mode="json"))
    return {"results": [result.model_dump(mode="json") for result in results]}
