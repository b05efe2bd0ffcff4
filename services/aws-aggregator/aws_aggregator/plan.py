"""plan: the daily schedule (Step Functions) → the device-days to aggregate, as Map items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from aws_aggregator.settings import METRICS_NAMESPACE, SERVICE, get_settings, get_store
from wattline import observability
from wattline.aggregation import plan_days

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
observability.configure(SERVICE)  # cold start: this logger's JSON for the wattline.* loggers too


class PlanRequest(BaseModel):
    """Anything the scheduler sends; `now` (ISO 8601 with offset) overrides the clock for backfills and tests."""

    model_config = ConfigDict(extra="ignore")

    now: AwareDatetime | None = None


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=PlanRequest)
def handler(event: PlanRequest, context: LambdaContext) -> dict[str, Any]:
    """Returns {"items": [{"device_id", "date"}, ...]} for the Map state."""
    settings = get_settings()
    now = event.now or datetime.now(UTC)
    items = plan_days(
        get_store(), now, grace=timedelta(hours=settings.grace_hours), lookback_days=settings.lookback_days
    )
    metrics.add_metric(name="DeviceDaysPlanned", unit=MetricUnit.Count, value=len(items))
    logger.info("planned", extra={"now": now.isoformat(), "items": len(items)})
    return {"items": [item.as_dict() for item in items]}
