"""Dated export prices in tariffs (presets `-active` and TOML `export_prices`) and the export_value they give the
channel rows: only for exported energy of a grid channel under a tariff that prices export that date."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from helpers.hourly import hour, local_day_hours
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.daily import daily_energy
from wattline.solar import parse_channel_roles
from wattline.tariffs import ACTIVE_CONSUMER_PRESETS, PRESETS, load_tariff


def test_the_active_presets_price_export_from_the_law_and_the_plain_presets_do_not() -> None:
    for name, tariff in PRESETS.items():
        active = ACTIVE_CONSUMER_PRESETS[f"{name}-active"]
        assert active.zones == tariff.zones  # the same import prices
        assert tariff.export_price(date(2026, 6, 1)) is None
        assert active.export_price(date(2026, 6, 1)) == 2.67104
        assert active.export_price(date(2023, 6, 29)) is None  # before Law No. 3220-IX


def test_a_tariff_file_gives_dated_export_prices(tmp_path: Path) -> None:
    # Given a tariff file with two export price periods
    path = tmp_path / "netbilling.toml"
    path.write_text(
        'currency = "EUR"\n'
        "export_prices = [\n"
        "  { valid_from = 2025-01-01, valid_to = 2026-01-01, price = 0.05 },\n"
        "  { valid_from = 2026-01-01, price = 0.07 },\n"
        "]\n"
        '[[zones]]\nname = "all"\nprices = [{ valid_from = 2020-01-01, price = 0.30 }]\n'
    )

    # When it is loaded, Then each date has its period's price, none before the first
    tariff = load_tariff(path)
    assert [tariff.export_price(date(y, 6, 1)) for y in (2024, 2025, 2026)] == [None, 0.05, 0.07]


def test_a_grid_channel_that_exported_gets_the_value_of_its_export() -> None:
    # Given a grid channel exporting 250 Wh in each of the 25 hours of 2026-10-25, and a solar channel
    rows = [hour("m", start, import_wh=10.0, export_wh=250.0) for start in local_day_hours("2026-10-25")]
    rows += [hour("m", start, channel=1, export_wh=400.0) for start in local_day_hours("2026-10-25")]
    roles = parse_channel_roles("m:1=solar")

    # When the day is priced with ua-2zone-active
    grid, pv = daily_energy(rows, tariff=load_tariff("ua-2zone-active"), timezone="Europe/Kyiv", roles=roles)

    # Then the grid channel's 6.25 kWh exported are worth 6.25 x 2.67104 = 16.694; the PV clamp's export is generation
    assert (grid.export_kwh, grid.export_value) == (6.25, 16.694)
    # and the import is priced as ever: 10 Wh in 9 night hours (the autumn night) at 2.16 and 16 day hours at 4.32
    assert grid.cost == round(0.010 * 9 * 2.16 + 0.010 * 16 * 4.32, 4) == 0.8856
    assert (pv.export_kwh, pv.export_value) == (10.0, None)


def test_without_export_or_without_a_price_there_is_no_export_value_key() -> None:
    exported = [hour("m", start, export_wh=1.0) for start in local_day_hours("2026-06-15")]
    imported = [hour("n", start, import_wh=1.0) for start in local_day_hours("2026-06-15")]
    unpriced = daily_energy(exported, tariff=load_tariff("ua-2zone"), timezone="Europe/Kyiv")
    no_export = daily_energy(imported, tariff=load_tariff("ua-2zone-active"), timezone="Europe/Kyiv")
    for day in unpriced + no_export:
        assert day.export_value is None and "export_value" not in day.model_dump()


def exporting_capture(path: Path) -> Path:
    """A Gen1 EM for one hour (10:00-11:00 Kyiv, 2026-11-23): channel 0 imports 600 W, channel 1 exports 1200 W."""
    start = 1795420800.0  # 2026-11-23T08:00:00Z
    lines = [
        json.dumps(
            {"topic": f"shellies/shellyem-B1/emeter/{ch}/power", "payload": watts, "received_at": start + 30 * i}
        )
        for i in range(121)
        for ch, watts in ((0, "600"), (1, "-1200"))
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_analyze_json_adds_export_value_only_to_days_that_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a capture where one channel exports 1.2 kWh, analysed with and without an export price
    monkeypatch.delenv("WATTLINE_CHANNELS", raising=False)
    path = str(exporting_capture(tmp_path / "export.jsonl"))
    plain = json.loads(CliRunner().invoke(app, ["analyze", path, "--format", "json"]).stdout)
    active = json.loads(
        CliRunner().invoke(app, ["analyze", path, "--format", "json", "--tariff", "ua-2zone-active"]).stdout
    )

    # Then the exporting day alone gains export_value = 1.2 x 2.67104; every other key is as before
    assert [day["export_kwh"] for day in plain] == [0.0, 1.2]
    assert active == [plain[0], {**plain[1], "export_value": 3.2052}]


def test_analyze_csv_has_an_export_value_column_only_when_some_day_has_one(tmp_path: Path) -> None:
    path = str(exporting_capture(tmp_path / "export.jsonl"))
    plain = CliRunner().invoke(app, ["analyze", path, "--format", "csv"]).stdout
    active = CliRunner().invoke(app, ["analyze", path, "--format", "csv", "--tariff", "ua-2zone-active"]).stdout
    assert "export_value" not in plain.splitlines()[0]
    assert [row["export_value"] for row in csv.DictReader(io.StringIO(active))] == ["", "3.2052"]
