"""`wattline analyze` with channel roles, on a capture whose numbers are worked out by hand: Gen1 power messages
(signed: negative = export) every minute over the two Kyiv DST days, held until the next message (--method locf),
so every hour's energy is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solar_helpers import local_day_hours
from typer.testing import CliRunner

from wattline.cli.main import app

DEVICE = "shellyem-A4CF12F454A3"
SUN_HOURS = range(8, 14)  # the 9th to 14th local hours of the day: six sunny hours


def capture(path: Path, days: list[str]) -> Path:
    """Sunny hours: the PV clamp (channel 1) -1000 W (generation), the grid clamp (channel 0) -300 W (export).
    Other hours: the grid imports 400 W, the inverter draws 5 W standby (PV clamp +5 W)."""
    lines = []
    for day in days:
        starts = local_day_hours(day)
        for index, start in enumerate(starts):
            grid, pv = (-300, -1000) if index in SUN_HOURS else (400, 5)
            for minute in range(60):
                at = start.timestamp() + 60 * minute
                for channel, watts in ((0, grid), (1, pv)):
                    topic = f"shellies/{DEVICE}/emeter/{channel}/power"
                    lines.append(json.dumps({"topic": topic, "payload": f"{watts:.2f}", "received_at": at}))
        end = starts[-1].timestamp() + 3600  # one last message at midnight closes the day's last interval
        for channel in (0, 1):
            topic = f"shellies/{DEVICE}/emeter/{channel}/power"
            lines.append(json.dumps({"topic": topic, "payload": "0.00", "received_at": end}))
    path.write_text("\n".join(lines) + "\n")
    return path


def analyze(*args: str, env: dict[str, str] | None = None) -> object:
    result = CliRunner().invoke(app, ["analyze", *args, "--method", "locf", "--tariff", "ua-1zone-active"], env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(autouse=True)
def _no_roles_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATTLINE_CHANNELS", raising=False)


@pytest.mark.parametrize(
    ("day", "grid_import_kwh", "consumption_kwh", "self_sufficiency", "standby_kwh"),
    [
        ("2026-03-29", 6.8, 11.0, 0.381818, 0.085),  # 23 hours: 17 without sun; 4.2 / 11.0
        ("2026-10-25", 7.6, 11.8, 0.355932, 0.095),  # 25 hours: 19 without sun; 4.2 / 11.8
    ],
)
def test_the_solar_section_has_the_hand_computed_day(
    tmp_path: Path,
    day: str,
    grid_import_kwh: float,
    consumption_kwh: float,
    self_sufficiency: float,
    standby_kwh: float,
) -> None:
    # Given the capture over one DST day
    path = capture(tmp_path / "site.jsonl", [day])

    # When analysed with channel 1 as the solar clamp
    result = analyze(str(path), "--format", "json", "--channels", f"{DEVICE}:1=solar")
    printed = json.loads(result.stdout)  # type: ignore[attr-defined]

    # Then generation is 6 x 1 kWh; export 6 x 0.3; self-consumed 6 x 0.7 = 4.2; grid import 0.4 kWh in each hour
    # without sun; consumption = import + 4.2; export value 1.8 x 2.67104 = 4.8079 (the closing messages at midnight
    # open the next day, with nothing in it)
    (solar, next_day) = printed["solar"]
    assert solar == {
        "device_id": DEVICE,
        "date": day,
        "timezone": "Europe/Kyiv",
        "generation_kwh": 6.0,
        "grid_import_kwh": grid_import_kwh,
        "export_kwh": 1.8,
        "consumption_kwh": consumption_kwh,
        "self_consumption_kwh": 4.2,
        "self_sufficiency": self_sufficiency,
        "export_value": 4.8079,
        "currency": "UAH",
    }
    assert (next_day["generation_kwh"], next_day["consumption_kwh"], next_day["self_sufficiency"]) == (0, 0, None)
    # And the channel rows are as without roles, the grid channel's export valued, the PV clamp's not; the PV
    # clamp's own energy is the inverter's standby (5 Wh in each hour without sun)
    days = {(d["channel"], d["date"]): d for d in printed["days"]}
    assert days[(0, day)]["export_value"] == 4.8079
    assert days[(1, day)]["export_kwh"] == 6.0 and "export_value" not in days[(1, day)]
    assert days[(1, day)]["energy_kwh"] == standby_kwh


def test_wattline_channels_sets_the_roles_and_solar_plus_reads_positive_generation(tmp_path: Path) -> None:
    # Given the same site with its PV clamp turned round (generation reported as positive power)
    path = capture(tmp_path / "site.jsonl", ["2026-10-25"])
    flipped = tmp_path / "flipped.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "/emeter/1/" in record["topic"]:
            record["payload"] = f"{-float(record['payload']):.2f}"
        lines.append(json.dumps(record))
    flipped.write_text("\n".join(lines) + "\n")

    # When analysed with WATTLINE_CHANNELS naming it solar+
    result = analyze(str(flipped), "--format", "json", env={"WATTLINE_CHANNELS": f"{DEVICE}:1=solar+"})

    # Then generation and self-consumption are as with the clamp facing the grid
    (day, _) = json.loads(result.stdout)["solar"]  # type: ignore[attr-defined]
    assert (day["generation_kwh"], day["self_consumption_kwh"], day["consumption_kwh"]) == (6.0, 4.2, 11.8)


def test_without_roles_the_json_is_the_list_of_channel_days(tmp_path: Path) -> None:
    path = capture(tmp_path / "site.jsonl", ["2026-03-29"])
    printed = json.loads(analyze(str(path), "--format", "json").stdout)  # type: ignore[attr-defined]
    assert isinstance(printed, list) and {d["channel"] for d in printed} == {0, 1}


def test_the_table_has_a_solar_table_per_site(tmp_path: Path) -> None:
    path = capture(tmp_path / "site.jsonl", ["2026-03-29"])
    out = analyze(str(path), "--channels", f"{DEVICE}:1=solar").stdout  # type: ignore[attr-defined]
    assert f"{DEVICE} solar: kWh per local day, export value in UAH" in out
    assert "38.2%" in out and "4.81" in out


def test_a_bad_channels_option_is_a_usage_error_naming_the_entry(tmp_path: Path) -> None:
    path = capture(tmp_path / "site.jsonl", ["2026-03-29"])
    result = CliRunner().invoke(app, ["analyze", str(path), "--channels", f"{DEVICE}:1=panel"])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())  # the error box wraps lines
    assert f"channel '{DEVICE}:1' has the unknown role 'panel'" in text
