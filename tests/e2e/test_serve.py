"""`wattline serve` against a real mosquitto: meters publish, the service is stopped with SIGTERM in the middle of
the day and started again, and every message ends in the ledger exactly once; the dashboard is served (issue 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest
from helpers.servers import running

from wattline.local.ledger import home_ledger
from wattline.local.servers import free_port, start_mosquitto
from wattline.simulator import simulate

pytestmark = [pytest.mark.slow, pytest.mark.servers]
WATTLINE = str(Path(sys.executable).parent / "wattline")
HALF = 700  # below mosquitto's default 1,000 messages queued for an offline persistent session


@pytest.fixture(scope="module")
def broker_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with running(lambda: start_mosquitto(tmp_path_factory.mktemp("mosquitto"))) as server:
        yield server.port


def start_serve(home: Path, broker_port: int, dashboard_port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "WATTLINE_SERVE_BATCH_SECONDS": "0.5",
        "WATTLINE_SERVE_TICK_SECONDS": "0.5",
    }
    command = [WATTLINE, "serve", "--home", str(home), "--mqtt-port", str(broker_port)]
    command += ["--dashboard-port", str(dashboard_port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    assert line.startswith("serving"), line + (process.stderr.read() if process.stderr else "")
    return process


def status(dashboard_port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard_port}/status", timeout=5) as response:
        return json.loads(response.read())


def wait_for_messages(dashboard_port: int, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if status(dashboard_port)["bridge"]["messages"] >= count:  # type: ignore[index]
            return
        time.sleep(0.2)
    raise AssertionError(f"the service received {status(dashboard_port)['bridge']} of {count} messages")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


def test_serve_stopped_mid_day_and_started_again_loses_and_doubles_nothing(broker_port: int, tmp_path: Path) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    # Given two simulated meters' messages and a service subscribed to the broker
    messages = simulate(devices=2, days=1, seed=5).messages[: 2 * HALF]
    home, dashboard = tmp_path / "home", free_port()
    meters = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sim-meters")
    meters.connect("127.0.0.1", broker_port)
    meters.loop_start()
    service = start_serve(home, broker_port, dashboard)

    def publish(batch: list) -> None:
        for message in batch:
            meters.publish(message.topic, message.payload, qos=1).wait_for_publish(timeout=10)

    # When the first half arrives, the service is stopped with SIGTERM, the second half is published while it
    # is down, and the service starts again
    publish(messages[:HALF])
    wait_for_messages(dashboard, HALF)
    assert "stopped:" in stop(service)
    publish(messages[HALF:])
    service = start_serve(home, broker_port, dashboard)
    wait_for_messages(dashboard, HALF)  # the broker kept them for the service's persistent session

    # Then the dashboard is served, refreshing itself, and the service reports its state
    with urllib.request.urlopen(f"http://127.0.0.1:{dashboard}/", timeout=5) as page:
        html = page.read().decode()
    assert page.status == 200 and 'http-equiv="refresh"' in html and "<html" in html
    stop(service)
    meters.loop_stop()

    # And once the day has closed and been processed, every published message is in the ledger exactly once
    tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time_of_day(3), UTC)
    done = subprocess.run(
        [WATTLINE, "run", "--home", str(home), "--now", tomorrow.isoformat(), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    ledger = home_ledger(home, tomorrow)
    assert ledger.received == len(messages)
    assert ledger.balanced, ledger.stuck
