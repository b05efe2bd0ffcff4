"""`wattline aws provision-device` refuses thing names that are a topic root or a raw partition of their own."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.errors import PermanentError
from wattline.iot_provision import check_thing_name, provision_device


class NoAws:
    """An IoT control plane that fails the test if any call reaches it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"AWS IoT was called ({name}) for a name that must be refused first")


@pytest.mark.parametrize("name", ["shellies", "_invalid"])
def test_a_reserved_thing_name_is_refused_before_any_aws_call(name: str) -> None:
    with pytest.raises(PermanentError, match=rf"'{name}' cannot be a thing name: it is reserved"):
        provision_device(NoAws(), name)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["shellies", "_invalid"])
def test_the_command_refuses_a_reserved_name_with_a_clear_message(name: str) -> None:
    result = CliRunner().invoke(app, ["aws", "provision-device", name, "--region", "eu-central-1"])
    assert result.exit_code == 1
    assert f"error: '{name}' cannot be a thing name: it is reserved" in result.stderr
    assert "Use the Shelly device id" in result.stderr


def test_the_command_refuses_the_gen1_root_in_use() -> None:
    result = CliRunner().invoke(app, ["aws", "provision-device", "meters", "--gen", "1", "--gen1-root", "meters"])
    assert result.exit_code == 1 and "'meters' cannot be a thing name: it is reserved" in result.stderr


def test_a_shelly_device_id_is_a_thing_name_and_a_trailing_newline_is_not() -> None:
    assert check_thing_name("shellyem-C45BBE6C2E8F") == "shellyem-C45BBE6C2E8F"
    with pytest.raises(PermanentError, match="cannot be a thing name"):
        check_thing_name("shellyem-C45BBE6C2E8F\n")
