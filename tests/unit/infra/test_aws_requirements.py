"""The aws-aggregator pins (which build-bundle.sh also uses as constraints) are the versions uv.lock tests."""

from __future__ import annotations

import re
import tomllib

from infra_templates import ROOT

REQUIREMENTS = ROOT / "services" / "aws-aggregator" / "requirements.txt"


def pins() -> dict[str, str]:
    lines = [line.strip() for line in REQUIREMENTS.read_text().splitlines()]
    found = {}
    for line in lines:
        if line and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line)
            assert match, f"not an exact pin: {line!r}"
            found[match[1].lower()] = match[2]
    return found


def locked() -> dict[str, set[str]]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        if "version" in package:
            versions.setdefault(package["name"].lower(), set()).add(package["version"])
    return versions


def test_every_pin_is_the_version_in_uv_lock() -> None:
    versions = locked()
    for name, version in pins().items():
        assert versions.get(name) == {version}, f"{name}=={version} but uv.lock has {versions.get(name)}"


def test_the_rest_pubsub_path_is_pinned_and_the_grpc_client_is_not() -> None:
    names = set(pins())
    assert {"google-auth", "urllib3", "cryptography", "certifi", "pyasn1-modules"} <= names
    assert not {"google-cloud-pubsub", "grpcio", "google-api-core", "protobuf"} & names
    assert "wattline" not in names
