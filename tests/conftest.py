"""Session fixtures shared by every test folder: the CloudFormation templates `serverless package` generates for
the AWS services (tests/unit/infra checks them; tests/integration creates what they declare on moto). Packaging
runs fully offline (dummy credentials, sources-only bundles; helpers/serverless.py); without Node.js the tests
that need it skip with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import serverless


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """infra/aws/tools/node_modules/.bin with the pinned serverless and asl-validator."""
    return serverless.node_tools()


@pytest.fixture(scope="session")
def packaged(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`serverless package` of both services into a temporary folder; service name → template path."""
    out = tmp_path_factory.mktemp("serverless")
    return {service: serverless.package(node_tools, service, out / service) for service in serverless.SERVICES}


@pytest.fixture(scope="session")
def aggregator_template(packaged: dict[str, Path]) -> dict[str, Any]:
    return serverless.load(packaged["aws-aggregator"])


@pytest.fixture(scope="session")
def archiver_template(packaged: dict[str, Path]) -> dict[str, Any]:
    return serverless.load(packaged["aws-archiver"])


@pytest.fixture(scope="session")
def realtime_aggregator_template(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The aggregator packaged with near-real-time alerts turned on (the watchdog's schedule enabled)."""
    out = tmp_path_factory.mktemp("serverless-realtime")
    path = serverless.package(
        node_tools,
        "aws-aggregator",
        out,
        "realtimeAlerts=true",
        "gcpProject=wattline-prod",
        'gcpWifConfig={"type": "external_account"}',
    )
    return serverless.load(path)
