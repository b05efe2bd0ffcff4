"""What `wattline status` and `wattline report` do in a home an emulators demo left (its servers are gone)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.local.ledger import Ledger, home_ledger, save_ledger


def emulator_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "demo.json").write_text(json.dumps({"status": "finished", "stack": "emulators"}))
    save_ledger(home, Ledger(received=10, kept=8, quarantined=1, duplicates=1, readings=12, days_loaded=2))
    return home


def test_status_shows_the_ledger_the_emulators_demo_saved(tmp_path: Path) -> None:
    # Given a home an emulators demo made (moto's raw bucket is gone)
    home = emulator_home(tmp_path)

    # When its ledger is read
    ledger = home_ledger(home, datetime.now(UTC))

    # Then it is the saved one, marked as recorded when the demo finished
    assert (ledger.received, ledger.kept, ledger.days_loaded, ledger.balanced) == (10, 8, 2, True)
    assert ledger.note and "emulators" in ledger.note


def test_report_says_why_it_cannot_render_an_emulators_home(tmp_path: Path) -> None:
    # Given a home an emulators demo made
    home = emulator_home(tmp_path)

    # When the dashboard is asked for
    result = CliRunner().invoke(app, ["report", "--home", str(home)])

    # Then it exits 1 naming what is gone and where the demo's dashboard is, and writes no warehouse
    assert result.exit_code == 1
    assert "bqemulator" in result.output and "report.html" in result.output
    assert not (home / "warehouse.duckdb").exists()


def test_a_missing_server_is_named_with_how_to_install_it(tmp_path: Path) -> None:
    # Given no bqemulator venv and no function source where the emulator stack looks
    from wattline.local.servers import emulator_stack_missing

    # When the stack checks what it needs
    missing = emulator_stack_missing(tmp_path / "no-bqemulator", [tmp_path / "services" / "gcp-loader" / "main.py"])

    # Then both are named, each with what to do
    assert any("bqemulator" in m and "install-servers.sh" in m for m in missing)
    assert any("gcp-loader" in m and "checkout" in m for m in missing)
