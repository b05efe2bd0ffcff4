"""aggregate: one Map item {"device_id", "date"} → the device-day's daily file + manifest; returns the counts."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from aws_aggregator.events import AggregateRequest
from aws_aggregator.settings import METRICS_NAMESPACE, SERVICE, get_settings, get_store
from wattline import observability, process_memory
from wattline.aggregation import aggregate_day

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
observability.configure(SERVICE)  # cold start: this logger's JSON for the wattline.* loggers too
process_memory.keep_freed_memory_for_the_next_day()  # a warm container aggregates one day after another


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=AggregateRequest)
def handler(event: AggregateRequest, context: LambdaContext) -> dict[str, Any]:
    """Counts: envelopes = kept + quarantined + duplicates. Raises TransientError on storage failures (retry)."""
    settings = get_settings()
    result = aggregate_day(
        get_store(),
        event.date,
        event.device_id,
        concurrency=settings.concurrency,
        dedup_window_ms=settings.dedup_window_ms,
    )
    for name, value in (
        ("Envelopes", result.counts.envelopes),
        ("EnvelopesDuplicate", result.counts.duplicates),
        ("EnvelopesQuarantined", result.counts.quarantined),
        ("Readings", result.readings),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    counts: dict[str, Any] = result.as_dict()
    logger.info("aggregated", extra=counts)
    return counts
