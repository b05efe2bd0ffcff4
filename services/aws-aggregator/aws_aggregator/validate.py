"""validate: S3 ObjectCreated on raw/ → quarantine invalid envelopes, mark late data dirty, emit metrics."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_aggregator.events import S3Notification
from aws_aggregator.settings import METRICS_NAMESPACE, SERVICE, get_store
from wattline.aggregation import validate_object
from wattline.errors import NotFoundError
from wattline.realtime import forward_object

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=S3Notification)
def handler(event: S3Notification, context: LambdaContext) -> dict[str, Any]:
    """One S3 event notification (any number of records). Bad data never raises; storage failures do (retry)."""
    results = []
    for record in event.Records:
        key = unquote_plus(record.s3.object.key)  # S3 events carry keys URL-encoded
        store = get_store(record.s3.bucket.name)
        try:
            result = validate_object(store, key)
        except NotFoundError:
            logger.warning("raw object is gone; nothing to validate", extra={"key": key})
            continue
        # Near-real-time alerts (LWT offline, power above the rating); a no-op unless WATTLINE_REALTIME_ALERTS=true.
        forward_object(store, key)
        metrics.add_metric(name="EnvelopesReceived", unit=MetricUnit.Count, value=result.received)
        metrics.add_metric(name="EnvelopesValid", unit=MetricUnit.Count, value=result.valid)
        metrics.add_metric(name="EnvelopesQuarantined", unit=MetricUnit.Count, value=result.quarantined)
        for reason, count in result.reasons.items():
            with single_metric(
                name="EnvelopesQuarantinedByReason", unit=MetricUnit.Count, value=count, namespace=METRICS_NAMESPACE
            ) as metric:
                metric.add_dimension(name="reason", value=reason)
        logger.info("validated", extra=result.as_dict())
        results.append(result.as_dict())
    return {"objects": results}
