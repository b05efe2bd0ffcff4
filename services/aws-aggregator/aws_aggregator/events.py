"""Trigger models of the service (Powertools parser models).

`S3Notification` is the subset of an S3 event notification the validate handler uses — each record's bucket name
and object key — so it accepts the full AWS event (Powertools' `S3Model` shape) as well as events that omit the
identity fields (moto's S3 → SQS/Lambda notifications, events replayed from a dead-letter queue). Keys arrive
URL-encoded, exactly as in `S3Model`: decode them with `urllib.parse.unquote_plus`.
"""

from __future__ import annotations

from datetime import date

from aws_lambda_powertools.utilities.parser.models.s3 import S3Object
from pydantic import BaseModel, ConfigDict


class S3BucketRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str


class S3Entity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: S3BucketRef
    object: S3Object


class S3NotificationRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    eventSource: str = "aws:s3"
    eventName: str
    s3: S3Entity


class S3Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    Records: list[S3NotificationRecord]


class AggregateRequest(BaseModel):
    """One Step Functions Map item."""

    model_config = ConfigDict(extra="ignore")

    device_id: str
    date: date
