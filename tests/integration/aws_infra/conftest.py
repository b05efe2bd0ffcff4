"""A real moto server (S3 + IoT control plane) on 127.0.0.1 for the AWS deployment-side integration tests.

Started once per session in its own process group on a free port, stopped by that group; skipped with the reason
if the `moto_server` binary is missing (it comes with the dev dependencies: moto[server]).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REGION = "eu-central-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def infra_aws_env() -> Iterator[None]:
    """Dummy credentials and region: nothing here may reach a real AWS account."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_SESSION_TOKEN", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_REGION", REGION)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wattline-test")
        yield


@pytest.fixture(scope="session")
def infra_moto(infra_aws_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`moto_server -H 127.0.0.1 -p PORT`; yields the endpoint URL once it answers requests."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        found = shutil.which("moto_server")
        if found is None:
            pytest.skip("moto_server not found: install the dev dependencies (uv sync --all-packages --group dev)")
        binary = Path(found)
    port = _free_port()
    log = tmp_path_factory.mktemp("moto-infra") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
