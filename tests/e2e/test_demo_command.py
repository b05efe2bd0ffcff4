"""`wattline demo` exactly as the README runs it: the default week, as a user's process, then the commands a user
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


def test_the_default_demo_runs_a_week_and_its_home_answers(tmp_path: Path) -> None:
    # When the demo runs with its defaults (a pinned today: the same simulated week whatever the date)
    demo = _wattline("demo", "--home", str(tmp_path), "--quiet", "--today", "2026-11-20")

    # Then it succeeds, says where its outputs are, and simulated seven local days
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "dashboard:" in demo.stdout and (tmp_path / "report.html").is_file()
    state = json.loads((tmp_path / "demo.json").read_text())
    assert len(state["days"]) == 7
    assert state["backfilled"] > 0 and state["published"] > 0

    # And the ledger balances over every message, backfilled and published
    status = _wattline("status", "--home", str(tmp_path), "--format", "json")
    ledger = json.loads(status.stdout)
    assert ledger["balanced"] is True
    assert ledger["received"] == state["backfilled"] + state["published"]

    # And the week is in the warehouse: energy for each of its days
    energy = _wattline("energy", "--home", str(tmp_path), "--from", state["days"][0], "--to", state["days"][-1])
    assert energy.returncode == 0, energy.stderr
    assert all(day in energy.stdout for day in state["days"])
