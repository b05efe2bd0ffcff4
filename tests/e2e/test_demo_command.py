"""`wattline demo` exactly as the README runs it: the default two weeks, as a user's process, then the commands a user
tries next on its home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

WATTLINE = str(Path(sys.executable).with_name("wattline"))


def _wattline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WATTLINE, *args], capture_output=True, text=True, timeout=600, check=False)


def test_the_default_demo_runs_two_weeks_and_its_home_answers(tmp_path: Path) -> None:
    # When the demo runs with its defaults (a pinned today: the same simulated days whatever the date)
    demo = _wattline("demo", "--home", str(tmp_path), "--quiet", "--today", "2026-11-20")

    # Then it succeeds, says where its outputs are, and simulated fourteen local days
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "dashboard:" in demo.stdout and (tmp_path / "report.html").is_file()
    state = json.loads((tmp_path / "demo.json").read_text())
    assert len(state["days"]) == 14
    assert state["backfilled"] > 0 and state["published"] > 0

    # And the ledger balances over every message, backfilled and published
    status = _wattline("status", "--home", str(tmp_path), "--format", "json")
    ledger = json.loads(status.stdout)
    assert ledger["balanced"] is True
    assert ledger["received"] == state["backfilled"] + state["published"]

    # And the simulated PV clamp got its role in the home's settings, so the summary shows the site's solar table
    assert '"shellyproem50-' in (tmp_path / "wattline.toml").read_text()
    assert "solar: kWh per local day" in demo.stdout

    # And the days are in the warehouse: energy for each of its days, and the solar site's self-consumption
    energy = _wattline(
        "energy", "--home", str(tmp_path), "--from", state["days"][0], "--to", state["days"][-1], "--format", "json"
    )
    assert energy.returncode == 0, energy.stderr
    printed = json.loads(energy.stdout)
    assert {day["date"] for day in printed["days"]} == set(state["days"])
    solar = printed["solar"]
    assert [day["date"] for day in solar] == state["days"]
    assert all(0 < day["self_consumption_kwh"] <= day["generation_kwh"] for day in solar)

    # And two weeks are enough for a forecast of the next 7 days of every series, each inside its interval
    forecast = _wattline("forecast", "--home", str(tmp_path), "--format", "json")
    assert forecast.returncode == 0, forecast.stderr
    rows = json.loads(forecast.stdout)["forecasts"]
    assert len({(row["device_id"], row["channel"]) for row in rows}) == 3 and len(rows) == 3 * 7
    assert all(row["lower"] <= row["energy_kwh"] <= row["upper"] for row in rows)
