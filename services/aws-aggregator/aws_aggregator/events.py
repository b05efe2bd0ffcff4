"""Trigger models of the service that Powertools does not ship (validate parses its EventBridge event with
Powertools' `S3EventNotificationEventBridgeModel`)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class AggregateRequest(BaseModel):
    """One Step Functions Map item."""

    model_config = ConfigDict(extra="ignore")

    device_id: str
    date: date
