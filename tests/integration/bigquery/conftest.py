"""A bqemulator for the session: started from its own venv (.tools/bqemulator), stopped by process group.

Skips with a reason when the venv is missing (install it with `bash infra/local/install-servers.sh`).
Readiness is a poll of the REST port; the emulator's output goes to a log file, shown if it fails to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]
BQEMULATOR = REPO / ".tools" / "bqemulator"
PROJECT = "wattline-test"
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def bq_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The REST URL of a running bqemulator (project wattline-test)."""
    binary = BQEMULATOR / "bin" / "bqemulator"
    if not binary.is_file():
        pytest.skip(f"bqemulator is not installed at {binary}: run `bash infra/local/install-servers.sh`")
    rest, grpc = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("bqemulator") / "bqemulator.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                str(binary),
                "start",
                "--rest-host",
                HOST,
                "--rest-port",
                str(rest),
                "--grpc-host",
                HOST,
                "--grpc-port",
                str(grpc),
                "--project",
                PROJECT,
                "--log-level",
                "warning",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "HOME": str(BQEMULATOR / "home")},  # the spatial extension is installed there
            start_new_session=True,
        )
    url = f"http://{HOST}:{rest}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"bqemulator exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/bigquery/v2/projects/{PROJECT}/datasets", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"bqemulator not ready after 60 s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(process)
