"""services/gcp-alerts/build.sh: the deploy source imports on its own (vendored wattline, no CLI, no local stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SERVICE = REPO / "services/gcp-alerts"

CHECK = """
import os, sys
import main, wattline
assert wattline.__file__.startswith(os.getcwd()), wattline.__file__
assert not {"duckdb", "typer", "rich", "wattline.cli", "wattline.local"} & set(sys.modules)
print(" ".join(f.__name__ for f in (main.detect, main.notify_email, main.notify_slack, main.notify_outbox)))
"""


def test_the_built_source_imports_its_vendored_wattline_without_the_cli(tmp_path: Path) -> None:
    # Given the deploy source built into a directory
    build = tmp_path / "gcp-alerts"
    subprocess.run(["bash", str(SERVICE / "build.sh"), str(build)], check=True, capture_output=True)
    # When main.py is imported from there
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=build, capture_output=True, text=True, check=False)
    # Then its four functions load from the vendored package, and neither the CLI nor DuckDB comes along
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "detect notify_email notify_slack notify_outbox"
    assert sorted(p.name for p in build.iterdir()) == ["BUILD", "gcp_alerts", "main.py", "requirements.txt", "wattline"]
    assert not (build / "wattline" / "report").exists()
    pins = [line for line in (build / "requirements.txt").read_text().splitlines() if line[:1].isalpha()]
    assert {line.split("==")[0] for line in pins} >= {"functions-framework", "google-cloud-bigquery", "numpy"}
