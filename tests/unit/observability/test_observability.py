"""wattline.observability.configure: one JSON log set-up per cloud entry point, for its own logger and wattline.*."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wattline import observability

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def fresh_logging() -> Iterator[None]:
    """Each test configures from scratch; the wattline logger tree is put back as it was."""
    domain = logging.getLogger(observability.DOMAIN_LOGGER)
    saved = (list(domain.handlers), domain.level, domain.propagate)
    observability._configured.clear()
    yield
    observability._configured.clear()
    domain.handlers, domain.level, domain.propagate = saved[0], saved[1], saved[2]


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Context:
    function_name = "wattline-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:wattline-test"
    memory_limit_in_mb = 128
    aws_request_id = "req-1"


def test_gcp_style_writes_domain_logs_as_cloud_logging_json() -> None:
    # Given a Cloud Function's cold start configured for Cloud Logging
    out = io.StringIO()
    observability.configure("gcp-test", stream=out)
    # When a domain module logs with extra fields
    logging.getLogger("wattline.loader").warning("3 rows merged", extra={"status": "loaded", "rows": 3})
    # Then one JSON line carries severity, message, the logger, the service and the fields
    assert lines(out.getvalue()) == [
        {
            "severity": "WARNING",
            "message": "3 rows merged",
            "logger": "wattline.loader",
            "service": "gcp-test",
            "status": "loaded",
            "rows": 3,
        }
    ]


def test_gcp_style_returns_the_service_logger_with_the_same_format() -> None:
    out = io.StringIO()
    logger = observability.configure("gcp-test", stream=out)
    logger.info("ignoring event type", extra={"type": "other"})
    (entry,) = lines(out.getvalue())
    assert (entry["severity"], entry["logger"], entry["type"]) == ("INFO", "gcp-test", "other")


def test_gcp_style_puts_the_traceback_in_exception() -> None:
    out = io.StringIO()
    observability.configure("gcp-test", stream=out)
    try:
        raise ValueError("bad row")
    except ValueError:
        logging.getLogger("wattline.alerts.pipeline").exception("detection failed")
    (entry,) = lines(out.getvalue())
    assert entry["severity"] == "ERROR" and "ValueError: bad row" in entry["exception"]


def test_gcp_style_keeps_lines_from_reaching_the_root_logger_twice() -> None:
    out = io.StringIO()
    observability.configure("gcp-test", stream=out)
    assert logging.getLogger("wattline").propagate is False
    assert logging.getLogger("gcp-test").propagate is False


def test_a_second_call_changes_nothing() -> None:
    # Given a configured service
    out = io.StringIO()
    first = observability.configure("gcp-test", stream=out)
    # When every handler module of the same function calls configure again
    second = observability.configure("gcp-test", stream=io.StringIO())
    logging.getLogger("wattline.x").info("once")
    # Then it is the same logger and each line is written once, to the first stream
    assert second is first
    assert [entry["message"] for entry in lines(out.getvalue())] == ["once"]


def test_aws_style_formats_domain_logs_with_powertools_and_the_lambda_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a Lambda cold start (an aws-* service gets the Powertools style) and its handler's Powertools Logger
    from aws_lambda_powertools import Logger

    observability.configure("aws-test")
    logger = Logger(service="aws-test")

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> None:
        logging.getLogger("wattline.aggregation").info("validated", extra={"kept": 5})

    # When a domain module logs during an invocation
    handler({}, Context())
    # Then the line is Powertools JSON with the service, the domain logger's name, the fields and the request id
    (entry,) = lines(capsys.readouterr().out)
    assert entry["level"] == "INFO" and entry["message"] == "validated" and entry["kept"] == 5
    assert entry["service"] == "aws-test" and entry["name"] == "wattline.aggregation"
    assert entry["function_request_id"] == "req-1"


def test_importing_the_module_loads_no_cloud_sdk() -> None:
    code = (
        "import sys; before = set(sys.modules); import wattline.observability; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('aws_', 'boto', 'google'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# Every deployed entry point, imported in a fresh interpreter, then a domain logger writes one line.
ENTRY_POINTS = {
    "aws-aggregator": ("services/aws-aggregator", "aws_aggregator.validate"),
    "aws-archiver": ("services/aws-archiver", "aws_archiver.handler"),
    "gcp-loader": ("services/gcp-loader", "main"),
    "gcp-alerts": ("services/gcp-alerts", "main"),
}


@pytest.mark.parametrize("service", sorted(ENTRY_POINTS))
def test_each_entry_point_configures_json_logs_for_the_domain_at_cold_start(service: str) -> None:
    folder, module = ENTRY_POINTS[service]
    code = f"import logging, {module}; logging.getLogger('wattline.loader').info('hello', extra={{'n': 1}})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / folder,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AWS_REGION": "eu-central-1", "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    assert done.returncode == 0, done.stderr
    (entry,) = lines(done.stdout)
    assert entry["message"] == "hello" and entry["n"] == 1 and entry["service"] == service
    assert entry.get("logger", entry.get("name")) == "wattline.loader"
