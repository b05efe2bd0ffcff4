"""Session fixtures for the deployment checks: the pinned Node tooling and the serverless-generated templates.

`serverless package` runs fully offline (dummy credentials, sources-only bundles); only the first `npm ci` of
infra/aws/tools needs the npm registry. Without node/npm those tests skip with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from infra_templates import OFFLINE_BUCKET, ROOT, TOOLS

SERVICES = ("aws-aggregator", "aws-archiver")


def _offline_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="offline-dummy",
        AWS_SECRET_ACCESS_KEY="offline-dummy",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_INTERACTIVE_SETUP_DISABLE="1",
    )
    return env


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """infra/aws/tools/node_modules/.bin with the pinned serverless and asl-validator (`npm ci` once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the serverless and ASL checks need Node.js 18+")
    binaries = TOOLS / "node_modules" / ".bin"
    if not (binaries / "serverless").exists() or not (binaries / "asl-validator").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOLS,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"npm ci in infra/aws/tools failed (offline?): {done.stderr[-500:]}")
    return binaries


def _package(node_tools: Path, service: str, out: Path, *params: str) -> Path:
    """`serverless package` of one service (sources-only bundle) into `out`; the template's path."""
    service_dir = ROOT / "services" / service
    subprocess.run(
        ["bash", str(ROOT / "infra" / "aws" / "build-bundle.sh"), str(service_dir), "--offline"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    done = subprocess.run(
        [
            str(node_tools / "serverless"),
            "package",
            "--package",
            str(out),
            f"--param=bucket={OFFLINE_BUCKET}",
            "--param=artifact=.build/offline-bundle.zip",
            *(f"--param={param}" for param in params),
        ],
        cwd=service_dir,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"serverless package {service} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out / "cloudformation-template-update-stack.json"


@pytest.fixture(scope="session")
def packaged(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`serverless package` of both services into a temporary folder; service name → template path."""
    out = tmp_path_factory.mktemp("serverless")
    return {service: _package(node_tools, service, out / service) for service in SERVICES}


@pytest.fixture(scope="session")
def realtime_aggregator_template(node_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The aggregator packaged with near-real-time alerts turned on."""
    out = tmp_path_factory.mktemp("serverless-realtime")
    path = _package(
        node_tools,
        "aws-aggregator",
        out,
        "realtimeAlerts=true",
        "gcpProject=wattline-prod",
        'gcpWifConfig={"type": "external_account"}',
    )
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@pytest.fixture(scope="session")
def aggregator_template(packaged: dict[str, Path]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(packaged["aws-aggregator"].read_text())
    return loaded


@pytest.fixture(scope="session")
def archiver_template(packaged: dict[str, Path]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(packaged["aws-archiver"].read_text())
    return loaded
