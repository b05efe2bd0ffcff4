"""`wattline whatif` through the command line on the sample capture: the same hourly energy `analyze` prices."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app

CAPTURE = Path(__file__).parents[2] / "fixtures" / "capture-sample.jsonl.gz"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _site(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIMEZONE", "INTEGRATION_METHOD", "MAX_GAP_SECONDS"):
        monkeypatch.delenv(f"WATTLINE_{name}", raising=False)
    monkeypatch.setenv("WATTLINE_TARIFF", "ua-2zone")


def _text(output: str) -> str:
    """The words of an error panel, without its frame and line wrapping."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())


def _json(args: list[str]) -> list[dict[str, object]]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_whatif_prices_what_analyze_prices_under_every_tariff() -> None:
    # Given the sample capture, When whatif compares the tariffs (current: ua-1zone)
    rows = _json(["whatif", str(CAPTURE), "--current", "ua-1zone", "--format", "json"])

    # Then each tariff's cost per meter is the sum of the daily costs `analyze --tariff` prints
    assert list(rows[0]) == ["device_id", "channel", "tariff", "energy_kwh", "zones", "cost", "currency", "saving"]
    for name in ("ua-1zone", "ua-2zone", "ua-3zone"):
        days = _json(["analyze", str(CAPTURE), "--tariff", name, "--format", "json"])
        mine = {(r["device_id"], r["channel"]): r for r in rows if r["tariff"] == name}
        for (device, channel), row in mine.items():
            daily = [d for d in days if (d["device_id"], d["channel"]) == (device, channel)]
            assert row["cost"] == round(sum(d["cost"] for d in daily), 4)  # type: ignore[misc]
            assert row["energy_kwh"] == round(sum(d["energy_kwh"] for d in daily), 6)  # type: ignore[misc]
    assert {r["saving"] for r in rows if r["tariff"] == "ua-1zone"} == {0.0}


def test_a_bad_shift_exits_with_the_expected_form() -> None:
    result = runner.invoke(app, ["whatif", str(CAPTURE), "--shift", "3 day night"])
    assert result.exit_code == 2
    assert "KWH_PER_DAY from ZONE to ZONE" in _text(result.output)


def test_files_and_a_warehouse_range_cannot_be_mixed() -> None:
    result = runner.invoke(app, ["whatif", str(CAPTURE), "--from", "2026-01-01", "--to", "2026-01-02"])
    assert result.exit_code == 2
    assert "not both" in _text(result.output)
