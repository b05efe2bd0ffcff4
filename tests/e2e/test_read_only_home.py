"""The read-only commands work on a read-only home (issue 10): status, energy, alerts and report write nothing.

The home is made read-only for real — a read-only bind mount in a private mount namespace (`unshare -m`, root) —
so a write anywhere under it fails with EROFS, as on a mounted backup or a home owned by another user."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_support import DemoRun

pytestmark = pytest.mark.slow
WATTLINE = str(Path(sys.executable).parent / "wattline")


def read_only(home: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Each command in a namespace where `home` is mounted read-only (skips where namespaces are not allowed)."""
    results = []
    for command in commands:
        mount = f"mount --bind {home} {home} && mount -o remount,ro,bind {home}"
        script = f"{mount} || exit 98; ! touch {home}/probe 2>/dev/null || exit 97; exec {shlex.join(command)}"
        done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
        if done.returncode == 98:
            pytest.skip("no private mount namespace here (unshare -m needs root)")
        assert done.returncode != 97, "the home was still writable"
        results.append(done)
    return results


def test_status_energy_alerts_and_report_read_a_read_only_home(demo_run: DemoRun, tmp_path: Path) -> None:
    # Given the demo's home, mounted read-only (and let go of by this process: DuckDB has one writer or readers)
    demo_run.runtime.close_warehouse()
    home = demo_run.home
    day = demo_run.result.scenario.dates()[0]
    report = tmp_path / "report.html"
    # When each read-only command runs on it
    status, energy, alerts, dashboard = read_only(
        home,
        [WATTLINE, "status", "--home", str(home), "--format", "json"],
        [WATTLINE, "energy", "--home", str(home), "--from", day, "--to", day, "--format", "json"],
        [WATTLINE, "alerts", "--home", str(home), "--from", day, "--to", day, "--format", "json"],
        [WATTLINE, "report", "--home", str(home), "--out", str(report)],
    )
    # Then each answers from what the home holds, and nothing was written to it
    assert all(done.returncode == 0 for done in (status, energy, alerts, dashboard)), [
        done.stderr for done in (status, energy, alerts, dashboard)
    ]
    assert json.loads(status.stdout)["balanced"] is True
    assert {row["device_id"] for row in json.loads(energy.stdout)["days"]} == {
        d.device_id for d in demo_run.result.scenario.devices
    }
    assert {row["kind"] for row in json.loads(alerts.stdout)} >= {"outage", "offline"}
    assert report.stat().st_size > 10_000
