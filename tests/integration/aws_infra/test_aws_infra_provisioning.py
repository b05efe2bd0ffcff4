"""`wattline aws provision-device` against a moto server's IoT control plane."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app

pytestmark = pytest.mark.servers

INGEST = Path(__file__).resolve().parents[3] / "infra" / "aws" / "wattline-ingest.yml"


@pytest.fixture(scope="module")
def iot(moto_endpoint: str) -> Any:
    import boto3

    return boto3.client("iot", endpoint_url=moto_endpoint, region_name="eu-central-1")


@pytest.fixture(scope="module")
def device_policy(iot: Any) -> str:
    """The ingest stack's DevicePolicy document, rendered as CloudFormation would, created in moto."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor(
        "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    )
    document = yaml.load(INGEST.read_text(), Loader)["Resources"]["DevicePolicy"]["Properties"]["PolicyDocument"]
    rendered = (
        json.dumps(document)
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "eu-central-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${Gen1TopicRoot}", "shellies")
        .replace("${!", "${")
    )
    name = f"wattline-device-{uuid.uuid4().hex[:8]}"
    iot.create_policy(policyName=name, policyDocument=rendered)
    return name


def provision(*args: str) -> Any:
    return CliRunner().invoke(app, ["aws", "provision-device", *args])


def test_provisioning_creates_the_thing_with_an_active_certificate_bound_to_the_policy(
    iot: Any, device_policy: str, moto_endpoint: str, tmp_path: Path
) -> None:
    # Given a Gen2 meter id and the device policy
    device = f"shellyproem50-{uuid.uuid4().hex[:12]}"
    # When it is provisioned
    result = provision(device, "--out", str(tmp_path), "--policy", device_policy, "--endpoint-url", moto_endpoint)
    # Then the thing exists with exactly one active certificate that carries the policy
    assert result.exit_code == 0, result.output
    (principal,) = iot.list_thing_principals(thingName=device)["principals"]
    certificate_id = principal.rsplit("/", 1)[1]
    assert iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"] == "ACTIVE"
    assert [p["policyName"] for p in iot.list_attached_policies(target=principal)["policies"]] == [device_policy]


def test_the_certificate_and_a_private_key_only_the_owner_can_read_are_written(
    device_policy: str, moto_endpoint: str, tmp_path: Path
) -> None:
    device = f"shellyproem50-{uuid.uuid4().hex[:12]}"
    result = provision(device, "--out", str(tmp_path), "--policy", device_policy, "--endpoint-url", moto_endpoint)
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{device}.cert.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    key = tmp_path / f"{device}.private.key"
    assert "PRIVATE KEY" in key.read_text()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_gen2_steps_point_the_device_at_the_iot_endpoint_with_its_client_certificate(
    device_policy: str, moto_endpoint: str, tmp_path: Path
) -> None:
    device = f"shellyproem50-{uuid.uuid4().hex[:12]}"
    result = provision(device, "--out", str(tmp_path), "--policy", device_policy, "--endpoint-url", moto_endpoint)
    assert result.exit_code == 0, result.output
    assert "Shelly.PutTLSClientCert" in result.output and "Shelly.PutTLSClientKey" in result.output
    assert '"use_client_cert": true' in result.output
    assert ':8883", "client_id": "' + device + '", "topic_prefix": "' + device + '"' in result.output


def test_gen1_gets_a_mosquitto_bridge_that_forwards_only_its_own_topics(
    device_policy: str, moto_endpoint: str, tmp_path: Path
) -> None:
    device = f"shellyem-{uuid.uuid4().hex[:12].upper()}"
    result = provision(
        device, "--gen", "1", "--out", str(tmp_path), "--policy", device_policy, "--endpoint-url", moto_endpoint
    )
    assert result.exit_code == 0, result.output
    assert f"clientid {device}" in result.output
    assert f"topic shellies/{device}/# out 1" in result.output
    assert f"bridge_keyfile {tmp_path / (device + '.private.key')}" in result.output
    assert "notifications false" in result.output


def test_provisioning_again_does_not_silently_issue_a_second_certificate(
    iot: Any, device_policy: str, moto_endpoint: str, tmp_path: Path
) -> None:
    # Given a provisioned device
    device = f"shellyproem50-{uuid.uuid4().hex[:12]}"
    first = provision(device, "--out", str(tmp_path), "--policy", device_policy, "--endpoint-url", moto_endpoint)
    assert first.exit_code == 0, first.output
    # When it is provisioned again without --new-certificate
    again = provision(
        device, "--out", str(tmp_path / "again"), "--policy", device_policy, "--endpoint-url", moto_endpoint
    )
    # Then it fails, says what to do, and the thing keeps its single certificate
    assert again.exit_code == 1
    assert "--new-certificate" in again.output
    assert len(iot.list_thing_principals(thingName=device)["principals"]) == 1


def test_a_missing_policy_fails_with_a_hint_to_deploy_the_ingest_stack(moto_endpoint: str, tmp_path: Path) -> None:
    device = f"shellyproem50-{uuid.uuid4().hex[:12]}"
    result = provision(device, "--out", str(tmp_path), "--policy", "no-such-policy", "--endpoint-url", moto_endpoint)
    assert result.exit_code == 1
    assert "wattline-ingest.yml" in result.output


def test_a_device_id_that_cannot_be_a_thing_name_is_refused_before_calling_aws(
    moto_endpoint: str, tmp_path: Path
) -> None:
    result = provision("shelly em/1", "--out", str(tmp_path), "--endpoint-url", moto_endpoint)
    assert result.exit_code == 1
    assert "Shelly device id" in result.output
