"""A local home survives crashes: SIGKILL (or a full disk) at any write of a `wattline run`, then one more plain
`run`, gives the same energy rows, alerts, notifications and ledger as an uninterrupted run; two runs at once on one
home never half-run (issue 10). Real processes; faults injected by tests/helpers/faults/sitecustomize.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from wattline.cli.main import app
from wattline.local.demo import write_capture
from wattline.local.ledger import home_ledger
from wattline.local.runtime import Runtime
from wattline.simulator import simulate

pytestmark = pytest.mark.slow
FAULTS = Path(__file__).parents[1] / "helpers" / "faults"
WATTLINE = str(Path(sys.executable).parent / "wattline")
NOW = datetime.now(UTC).replace(microsecond=0)


def wattline_run(home: Path, *extra: str, **fault: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(FAULTS), **fault}
    command = [WATTLINE, "run", "--home", str(home), "--now", NOW.isoformat(), "--quiet", *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def snapshot(home: Path) -> dict[str, Any]:
    """What a run leaves that users see: energy rows, alerts, notifications sent, the ledger."""
    runtime = Runtime(home)
    try:
        energy = runtime.warehouse.query(
            "SELECT device_id, channel, hour_start, import_wh, export_wh, estimated_wh, samples, counter_resets "
            "FROM `{{project}}.{{dataset}}.energy_hourly` ORDER BY device_id, channel, hour_start",
            {},
        )
        alerts = runtime.warehouse.query(
            "SELECT key, kind, device_id, channel, start_ts, end_ts, status, details "
            "FROM `{{project}}.{{dataset}}.alerts` ORDER BY key",
            {},
        )
    finally:
        runtime.close()
    outbox = home / "outbox" / "alerts.jsonl"
    lines = outbox.read_text().splitlines() if outbox.exists() else []
    sent = sorted(f"{json.loads(line)['alert']['key']}:{json.loads(line)['event']}" for line in lines)
    ledger = home_ledger(home, NOW).as_dict()
    # A boundary hour is computed by the loads of both its days, equal to the last bits of a float; which load
    # came last depends on the order the fault left: compare to the µWh.
    energy = [{k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()} for row in energy]
    return {"energy": energy, "alerts": alerts, "sent": sent, "ledger": ledger}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Yesterday's local day of two simulated meters (with a reboot, an outage, duplicates), imported, not run."""
    root = tmp_path_factory.mktemp("crash")
    day = (NOW - timedelta(hours=4)).astimezone(ZoneInfo("Europe/Kyiv")).date()
    write_capture(simulate(devices=2, days=1, seed=11, today=day), root / "capture.jsonl")
    result = CliRunner().invoke(app, ["import", str(root / "capture.jsonl"), "--home", str(root / "base")])
    assert result.exit_code == 0, result.output
    return root / "base"


@pytest.fixture(scope="module")
def reference(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int]:
    """An uninterrupted run: what every interrupted one must end with, and how many write steps it takes."""
    home = tmp_path_factory.mktemp("reference") / "home"
    shutil.copytree(imported, home)
    counter = home.parent / "steps"
    done = wattline_run(home, WATTLINE_TEST_FAULT_COUNT=str(counter))
    assert done.returncode == 0, done.stderr
    expected = snapshot(home)
    assert expected["energy"] and expected["alerts"] and expected["sent"] and expected["ledger"]["balanced"]
    return expected, int(counter.read_text().split()[0])


@pytest.mark.parametrize("fault", ["kill", "enospc"])
@pytest.mark.parametrize("where", [0.02, 0.12, 0.25, 0.37, 0.5, 0.62, 0.75, 0.87, 0.97])
def test_a_run_killed_or_out_of_space_at_any_write_is_finished_by_the_next_plain_run(
    imported: Path, reference: tuple[dict[str, Any], int], tmp_path: Path, fault: str, where: float
) -> None:
    expected, steps = reference
    home = tmp_path / "home"
    shutil.copytree(imported, home)
    # Given a run that dies (SIGKILL) or hits a full disk at one write step
    step = max(1, round(where * steps))
    broken = wattline_run(home, WATTLINE_TEST_FAULT_AT=str(step), WATTLINE_TEST_FAULT=fault)
    assert broken.returncode != 0 or fault == "enospc", "the fault hit the run"
    # When one more plain run follows
    again = wattline_run(home)
    assert again.returncode == 0, again.stdout + again.stderr
    # Then everything equals the uninterrupted run's
    assert snapshot(home) == expected


@pytest.mark.parametrize("wait", [False, True])
def test_two_runs_at_once_never_half_run(imported: Path, reference, tmp_path: Path, wait: bool) -> None:
    expected, _ = reference
    home = tmp_path / "home"
    shutil.copytree(imported, home)
    env = {**os.environ, "PYTHONPATH": str(FAULTS)}
    command = [WATTLINE, "run", "--home", str(home), "--now", NOW.isoformat(), "--quiet", *(["--wait"] * wait)]
    # When two runs start together on one home
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in (1, 2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in processes]  # type: ignore[union-attr]
    # Then with --wait both finish; without, one runs and the other exits with a message naming the home and
    # what to do — or, having come second, finds nothing left to do; never a half-run
    codes = sorted(code for code, _ in results)
    assert codes == [0, 0] if wait else codes in ([0, 0], [0, 2]), results
    for code, err in results:
        assert code == 0 or ("is being written by another wattline process" in err and "--wait" in err)
    assert snapshot(home) == expected
