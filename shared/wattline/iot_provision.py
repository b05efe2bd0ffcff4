"""Provisioning one Shelly meter as an AWS IoT thing: thing, key pair + certificate, policy, and device set-up.

The thing name is the device's identity everywhere: the MQTT client id (the IoT policy allows a connection only
as `${iot:Connection.Thing.ThingName}`), the topic prefix (Gen2+ publish `<thing>/...`, Gen1 `shellies/<thing>/...`)
and the `device=` partition of raw/. So the thing name must be the Shelly device id (e.g. `shellyem-C45BBE6C2E8F`,
`shellyproem50-08f9e0e67204`) and, for Gen2+, the device's MQTT `topic_prefix`.

The control plane is passed in (a boto3 `iot` client fits `IotControlPlane`); nothing here imports an SDK.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from wattline.errors import PermanentError
from wattline.keys import GEN1_TOPIC_ROOT, INVALID_DEVICE_SEGMENT, RESERVED_DEVICE_IDS

# AWS IoT thing names: 1-128 of [a-zA-Z0-9:_-]; wattline device ids are stricter (no ':', at most 64 chars).
THING_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_-]{0,63}$")
AMAZON_ROOT_CA_URL = "https://www.amazontrust.com/repository/AmazonRootCA1.pem"
DEFAULT_POLICY = "wattline-device"


class DeviceGeneration(StrEnum):
    GEN1 = "1"
    GEN2 = "2"


class AlreadyProvisionedError(PermanentError):
    """The thing already has a certificate; issuing another needs an explicit `new_certificate=True`."""


class IotControlPlane(Protocol):
    """The AWS IoT control-plane calls provisioning needs (boto3 `iot` client method names and keywords)."""

    def create_thing(self, *, thingName: str) -> Mapping[str, Any]: ...

    def list_thing_principals(self, *, thingName: str) -> Mapping[str, Any]: ...

    def create_keys_and_certificate(self, *, setAsActive: bool) -> Mapping[str, Any]: ...

    def attach_policy(self, *, policyName: str, target: str) -> Mapping[str, Any]: ...

    def attach_thing_principal(self, *, thingName: str, principal: str) -> Mapping[str, Any]: ...

    def describe_endpoint(self, *, endpointType: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class ProvisionedDevice:
    thing_name: str
    thing_arn: str
    certificate_id: str
    certificate_arn: str
    certificate_pem: str
    private_key: str
    public_key: str
    endpoint: str
    policy_name: str


@dataclass(frozen=True)
class CredentialFiles:
    certificate: Path
    private_key: Path
    public_key: Path


def check_thing_name(device_id: str, *, gen1_root: str = GEN1_TOPIC_ROOT) -> str:
    """The thing name, or PermanentError saying why it cannot be one. Besides the characters, the names that are a
    topic level or a raw partition of their own are refused (`keys.RESERVED_DEVICE_IDS`, and the Gen1 root in use):
    a Gen2 thing `shellies` publishes under the Gen1 root, which the Gen2 rules skip, and `_invalid` is where the
    rules put messages naming no device, which are quarantined."""
    if not THING_NAME_RE.fullmatch(device_id):
        raise PermanentError(
            f"{device_id!r} cannot be a thing name: use the Shelly device id "
            "(letters, digits, '-' and '_', at most 64 characters), e.g. shellyem-C45BBE6C2E8F"
        )
    if device_id in RESERVED_DEVICE_IDS or device_id == gen1_root:
        why = (
            "the raw partition of messages whose topic names no device (all quarantined)"
            if device_id == INVALID_DEVICE_SEGMENT
            else "the Gen1 topic root (the Gen2 rules skip it; Gen1 devices publish under it)"
        )
        raise PermanentError(
            f"{device_id!r} cannot be a thing name: it is reserved, {why}. "
            "Use the Shelly device id, e.g. shellyem-C45BBE6C2E8F"
        )
    return device_id


def provision_device(
    iot: IotControlPlane,
    device_id: str,
    *,
    policy_name: str = DEFAULT_POLICY,
    new_certificate: bool = False,
) -> ProvisionedDevice:
    """Create (or reuse) the thing, issue an active certificate, attach the policy and the thing to it.

    Re-running for a thing that already has a certificate raises AlreadyProvisionedError unless
    `new_certificate` is set (the private key of the old one exists only where it was first written).
    """
    thing = check_thing_name(device_id)
    created = iot.create_thing(thingName=thing)  # idempotent for an existing thing without attributes
    principals = list(iot.list_thing_principals(thingName=thing).get("principals", []))
    if principals and not new_certificate:
        raise AlreadyProvisionedError(
            f"thing {thing} already has {len(principals)} certificate(s); its private key is wherever it was "
            "first written. Use --new-certificate to issue another one (and deactivate the old one afterwards)."
        )
    certificate = iot.create_keys_and_certificate(setAsActive=True)
    certificate_arn = str(certificate["certificateArn"])
    iot.attach_policy(policyName=policy_name, target=certificate_arn)
    iot.attach_thing_principal(thingName=thing, principal=certificate_arn)
    endpoint = str(iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"])
    return ProvisionedDevice(
        thing_name=thing,
        thing_arn=str(created["thingArn"]),
        certificate_id=str(certificate["certificateId"]),
        certificate_arn=certificate_arn,
        certificate_pem=str(certificate["certificatePem"]),
        private_key=str(certificate["keyPair"]["PrivateKey"]),
        public_key=str(certificate["keyPair"]["PublicKey"]),
        endpoint=endpoint,
        policy_name=policy_name,
    )


def write_credentials(device: ProvisionedDevice, out_dir: Path) -> CredentialFiles:
    """Write `<thing>.cert.pem`, `<thing>.private.key` (mode 0600) and `<thing>.public.key` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = CredentialFiles(
        certificate=out_dir / f"{device.thing_name}.cert.pem",
        private_key=out_dir / f"{device.thing_name}.private.key",
        public_key=out_dir / f"{device.thing_name}.public.key",
    )
    files.certificate.write_text(device.certificate_pem)
    files.public_key.write_text(device.public_key)
    files.private_key.touch(mode=0o600, exist_ok=True)
    files.private_key.chmod(0o600)
    files.private_key.write_text(device.private_key)
    return files


def gen2_instructions(device: ProvisionedDevice, files: CredentialFiles) -> str:
    """The Shelly Gen2+ RPC calls that point the device at AWS IoT Core with its client certificate."""
    thing = device.thing_name
    mqtt_config = (
        f'{{"config": {{"enable": true, "server": "{device.endpoint}:8883", "client_id": "{thing}", '
        f'"topic_prefix": "{thing}", "ssl_ca": "ca.pem", "use_client_cert": true, '
        '"rpc_ntf": true, "status_ntf": true, "enable_control": false}}'
    )
    return "\n".join(
        [
            f"Shelly Gen2+ set-up for {thing} (device web UI → Settings → TLS / MQTT, or RPC as below):",
            f"  1. Shelly.PutTLSClientCert with the PEM of {files.certificate}",
            '       in chunks of ~1 KB: the first {"data": "<chunk>", "append": false}, then "append": true',
            f"  2. Shelly.PutTLSClientKey with {files.private_key} the same way",
            f"  3. MQTT.SetConfig {mqtt_config}",
            '       ("ssl_ca": "ca.pem" is the built-in CA bundle; if it lacks Amazon Root CA 1, upload',
            f'        {AMAZON_ROOT_CA_URL} with Shelly.PutUserCA and use "user_ca.pem")',
            "  4. Shelly.Reboot, then check MQTT.GetStatus → connected: true",
            f"The topic prefix must stay {thing}: the IoT policy lets the device publish only under it.",
        ]
    )


def gen1_bridge_snippet(
    device: ProvisionedDevice, files: CredentialFiles, *, gen1_root: str = "shellies", ca_file: str | None = None
) -> str:
    """A mosquitto bridge connection: Gen1 cannot present a client certificate, the local broker does it."""
    thing = device.thing_name
    ca = ca_file or str(files.certificate.parent / "AmazonRootCA1.pem")
    return "\n".join(
        [
            f"# mosquitto.conf: bridge {thing}'s topics to AWS IoT Core (download the CA from {AMAZON_ROOT_CA_URL})",
            f"connection aws-iot-{thing}",
            f"address {device.endpoint}:8883",
            "bridge_protocol_version mqttv311",
            "bridge_insecure false",
            f"bridge_cafile {ca}",
            f"bridge_certfile {files.certificate}",
            f"bridge_keyfile {files.private_key}",
            f"clientid {thing}",
            "cleansession true",
            "start_type automatic",
            "try_private false",
            "# no $SYS notifications: the IoT policy allows publishing only under the device's own topics",
            "notifications false",
            f"topic {gen1_root}/{thing}/# out 1",
        ]
    )
