"""The channel roles setting: its two forms, its validation (once, naming the bad entry) and its default."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from wattline.local.runtime import load_settings
from wattline.settings import Settings
from wattline.solar import ChannelRole

DEVICE = "shellyproem50-08f9e0e67204"


@pytest.fixture(autouse=True)
def _no_roles_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_CHANNELS", raising=False)


def test_no_roles_are_set_by_default() -> None:
    assert Settings().channel_roles == {}


def test_the_environment_form_gives_roles_by_device_and_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given WATTLINE_CHANNELS in its comma-separated form, with spaces and an upper-case role
    monkeypatch.setenv("WATTLINE_CHANNELS", f"{DEVICE}:0=grid, {DEVICE}:1=Solar+ ,shellyem-AA:1=load")

    # When the settings are read
    roles = Settings().channel_roles

    # Then each channel has its role
    assert roles == {
        (DEVICE, 0): ChannelRole.GRID,
        (DEVICE, 1): ChannelRole.SOLAR_POSITIVE,
        ("shellyem-AA", 1): ChannelRole.LOAD,
    }


def test_a_channels_table_in_wattline_toml_gives_the_same_roles(tmp_path: Path) -> None:
    # Given a home whose wattline.toml has a [channels] table
    (tmp_path / "wattline.toml").write_text(f'[channels]\n"{DEVICE}:1" = "solar"\n"{DEVICE}:0" = "grid"\n')

    # When the home's settings are loaded
    roles = load_settings(tmp_path).channel_roles

    # Then the table's roles are the settings'
    assert roles == {(DEVICE, 0): ChannelRole.GRID, (DEVICE, 1): ChannelRole.SOLAR}


def test_the_environment_wins_over_wattline_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wattline.toml").write_text(f'[channels]\n"{DEVICE}:1" = "solar"\n')
    monkeypatch.setenv("WATTLINE_CHANNELS", f"{DEVICE}:1=load")
    assert load_settings(tmp_path).channel_roles == {(DEVICE, 1): ChannelRole.LOAD}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (f"{DEVICE}=solar", f"'{DEVICE}' is not DEVICE_ID:CHANNEL"),
        (f"{DEVICE}:one=solar", f"'{DEVICE}:one' is not DEVICE_ID:CHANNEL"),
        (f"{DEVICE}:1 solar", "has no '='"),
        (f"{DEVICE}:1=sun", "unknown role 'sun': use one of grid, solar, solar+, load"),
        (f"{DEVICE}:1=solar,{DEVICE}:01=grid", f"'{DEVICE}:01' is given twice"),
    ],
)
def test_a_bad_entry_is_refused_with_its_name_and_the_expected_form(
    monkeypatch: pytest.MonkeyPatch, value: str, named: str
) -> None:
    monkeypatch.setenv("WATTLINE_CHANNELS", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert named in str(caught.value)
    if "DEVICE_ID:CHANNEL" in named:
        assert "DEVICE_ID:CHANNEL=ROLE, e.g." in str(caught.value)
