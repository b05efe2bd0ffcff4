"""watchdog: every 5 minutes (EventBridge schedule) → silent meters and site outages to the GCP `alerts` topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from aws_aggregator.settings import METRICS_NAMESPACE, SERVICE, get_store
from wattline import observability
from wattline.realtime import run_watchdog_now

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)
observability.configure(SERVICE)  # cold start: this logger's JSON for the wattline.* loggers too


class WatchdogRequest(BaseModel):
    """The scheduled event (its fields are ignored); `now` (ISO 8601 with offset) overrides the clock for tests."""

    model_config = ConfigDict(extra="ignore")

    now: AwareDatetime | None = None


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=WatchdogRequest)
def handler(event: WatchdogRequest, context: LambdaContext) -> dict[str, Any]:
    """The run's summary; {"enabled": false} while WATTLINE_REALTIME_ALERTS is off. Publish failures raise."""
    report = run_watchdog_now(get_store(), event.now or datetime.now(UTC))
    if report is None:
        return {"enabled": False}
    metrics.add_metric(name="WatchdogAlertsOpen", unit=MetricUnit.Count, value=len(report.alerts))
    metrics.add_metric(name="WatchdogAlertsPublished", unit=MetricUnit.Count, value=len(report.published))
    summary = {"enabled": True, **report.summary()}
    logger.info("watchdog", extra=summary)
    return summary
