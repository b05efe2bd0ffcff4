"""Structured JSON logs for a cloud entry point: `configure(service)`, called once by each Lambda handler module and
each Cloud Functions `main.py` at cold start (their import), never by a domain module.

- AWS (`style="powertools"`, the default for services named `aws-*`): the service's Powertools `Logger` formats
  every line (service, level, location, the Lambda context once `inject_lambda_context` runs, X-Ray trace id), and
  the `wattline` logger tree gets the same handler and formatter (Powertools' `copy_config_to_registered_loggers`),
  so a domain module's `logging.getLogger(__name__)` lines come out as the same JSON, with `name` = the logger.
  `POWERTOOLS_LOG_LEVEL` sets the level (default INFO).
- GCP (`style="cloud-logging"`, the default otherwise): one JSON object per line on stdout, the fields Cloud
  Logging lifts from a structured line (`severity`, `message`) plus `logger`, `service`, the record's `extra` fields
  and `exception` (the traceback, which Error Reporting reads), for the `wattline` tree and the service's logger.

Both stop those loggers from propagating to the root logger (the platform's own handler would print each line a
second time, unformatted). Importing this module performs no I/O, reads no environment and imports no cloud SDK;
`configure` is idempotent per service (a second call returns the configured logger).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Literal, TextIO

DOMAIN_LOGGER = "wattline"
Style = Literal["powertools", "cloud-logging"]

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_configured: dict[str, logging.Logger] = {}


class CloudLoggingFormatter(logging.Formatter):
    """A record as one line of JSON that Cloud Logging parses into `jsonPayload` (severity and message lifted)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "service": self.service,
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def default_style(service: str) -> Style:
    return "powertools" if service.startswith("aws-") else "cloud-logging"


def configure(
    service: str, *, style: Style | None = None, level: int | str | None = None, stream: TextIO | None = None
) -> logging.Logger:
    """Set up this process's logs for `service` once; returns the service's own (stdlib) logger.

    `level` defaults to POWERTOOLS_LOG_LEVEL or INFO on AWS and to INFO on GCP; `stream` (GCP only; default the
    current sys.stdout) is for tests.
    """
    if service in _configured:
        return _configured[service]
    chosen = style or default_style(service)
    logger = _powertools(service, level) if chosen == "powertools" else _cloud_logging(service, level, stream)
    _configured[service] = logger
    return logger


def _powertools(service: str, level: int | str | None) -> logging.Logger:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    source = Logger(service=service, level=level)
    logging.getLogger(DOMAIN_LOGGER)  # registered, so the copy below finds it even before a domain module logs
    copy_config_to_registered_loggers(source_logger=source, include={DOMAIN_LOGGER})
    return logging.getLogger(source.name)


def _cloud_logging(service: str, level: int | str | None, stream: TextIO | None) -> logging.Logger:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(service))
    service_logger = logging.getLogger(service)
    for logger in (logging.getLogger(DOMAIN_LOGGER), service_logger):
        logger.handlers = [handler]
        logger.setLevel(level or logging.INFO)
        logger.propagate = False
    return service_logger
