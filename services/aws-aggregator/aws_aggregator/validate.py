"""validate: S3 `Object Created` on raw/ (an EventBridge rule) → quarantine invalid envelopes, mark late data dirty,
emit metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_aggregator.settings import METRICS_NAMESPACE, SERVICE, get_store
from wattline import observability
from wattline.aggregation import validate_object
from wattline.errors import NotFoundError
from wattline.realtime import forward_object

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
observability.configure(SERVICE)  # cold start: this logger's JSON for the wattline.* loggers too


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=S3EventNotificationEventBridgeModel)
def handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    """One EventBridge event = one raw object. Bad data never raises; storage failures do (Lambda retries)."""
    # EventBridge carries the key as stored, unlike S3 event notifications (URL-encoded): never unquote it.
    key = event.detail.object.key
    store = get_store(event.detail.bucket.name)
    try:
        result = validate_object(store, key)
    except NotFoundError:
        logger.warning("raw object is gone; nothing to validate", extra={"key": key})
        return {"source_key": key, "gone": True}
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
    validated = result.as_dict()
    logger.info("validated", extra=validated)
    return validated
