"""`serverless package` of the AWS services, offline: the CloudFormation templates the deployment would create.

Used by the session fixtures of tests/conftest.py (tests/unit/infra checks the templates, tests/integration creates
what they declare on moto). Packaging needs no AWS account and no network (dummy credentials, sources-only bundle);
only the first `npm ci` of infra/aws/tools needs the npm registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "infra" / "aws" / "tools"
SERVICES = ("aws-aggregator", "aws-archiver")
OFFLINE_BUCKET = "wattline-offline-check"
"""The `bucket` param every packaged template is built with (the name appears literally in the templates)."""


def offline_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="offline-dummy",
        AWS_SECRET_ACCESS_KEY="offline-dummy",
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_INTERACTIVE_SETUP_DISABLE="1",
    )
    return env


def node_tools() -> Path:
    """infra/aws/tools/node_modules/.bin with the pinned serverless and asl-validator (`npm ci` once); skips the
    calling test with the reason when Node.js is missing or the install fails."""
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


def package(tools: Path, service: str, out: Path, *params: str) -> Path:
    """`serverless package` of one service into `out`; the path of the generated template. `params` are
    `name=value` params; `bucket` defaults to OFFLINE_BUCKET and `artifact` to the sources-only bundle, which this
    builds first."""
    service_dir = ROOT / "services" / service
    values = {"bucket": OFFLINE_BUCKET, "artifact": ".build/offline-bundle.zip"}
    values.update({name: value for name, _, value in (param.partition("=") for param in params)})
    subprocess.run(
        ["bash", str(ROOT / "infra" / "aws" / "build-bundle.sh"), str(service_dir), "--offline"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    done = subprocess.run(
        [
            str(tools / "serverless"),
            "package",
            "--package",
            str(out),
            *(f"--param={name}={value}" for name, value in values.items()),
        ],
        cwd=service_dir,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"serverless package {service} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out / "cloudformation-template-update-stack.json"


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def with_bucket(value: Any, bucket: str) -> Any:
    """`value` (a template fragment) with the packaged bucket name replaced by `bucket` wherever it is a whole
    string: what the template would hold had it been packaged with `--param=bucket=<bucket>`."""
    if isinstance(value, dict):
        return {key: with_bucket(item, bucket) for key, item in value.items()}
    if isinstance(value, list):
        return [with_bucket(item, bucket) for item in value]
    return bucket if value == OFFLINE_BUCKET else value
