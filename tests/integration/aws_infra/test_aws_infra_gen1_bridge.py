"""The mosquitto bridge `provision-device --gen 1` prints is a configuration a real mosquitto accepts."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from wattline.iot_provision import CredentialFiles, ProvisionedDevice, gen1_bridge_snippet
from wattline.local.broker import free_port
from wattline.local.servers import mosquitto_binary

pytestmark = pytest.mark.servers


def test_mosquitto_starts_with_the_printed_bridge_and_subscribes_only_the_device_topics(tmp_path: Path) -> None:
    # Given the bridge snippet for a provisioned Gen1 meter, with its certificate files in place
    device = ProvisionedDevice(
        thing_name="shellyem-C45BBE6C2E8F",
        thing_arn="arn:aws:iot:eu-central-1:123456789012:thing/shellyem-C45BBE6C2E8F",
        certificate_id="c0ffee",
        certificate_arn="arn:aws:iot:eu-central-1:123456789012:cert/c0ffee",
        certificate_pem="-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        private_key="-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n",
        public_key="-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
        endpoint="example-ats.iot.eu-central-1.invalid",
        policy_name="wattline-device",
    )
    files = CredentialFiles(tmp_path / "cert.pem", tmp_path / "private.key", tmp_path / "public.key")
    for path in (files.certificate, files.private_key, files.public_key, tmp_path / "AmazonRootCA1.pem"):
        path.write_text("placeholder\n")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{gen1_bridge_snippet(device, files)}\n")
    log = tmp_path / "mosquitto.log"
    # When mosquitto starts with it
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto not installed: run `make servers` (apt-get install -y mosquitto)")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(binary), "-c", str(config), "-v"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 10
        while "running" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # Then it accepts the configuration and bridges exactly the device's own topics out
        assert process.poll() is None, log.read_text()
        text = log.read_text()
        assert "doing local SUBSCRIBE on topic shellies/shellyem-C45BBE6C2E8F/#" in text
        assert "Error" not in text.replace("Error resolving bridge address", "")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
