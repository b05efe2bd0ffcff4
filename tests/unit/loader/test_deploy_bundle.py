"""services/gcp-loader/build.sh: the deploy source runs on its own (vendored wattline, no workspace needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SERVICE = REPO / "services/gcp-loader"

CHECK = """
import os, sys
os.environ.update(WATTLINE_GCP_PROJECT="p", WATTLINE_BUCKET="wattline-daily", WATTLINE_BQ_DATASET="wattline")
import main, wattline
from gcp_loader.deps import get_deps
deps = get_deps()
assert wattline.__file__.startswith(os.getcwd()), wattline.__file__
assert type(deps.warehouse).__name__ == "BigQueryWarehouse"
assert type(deps.publisher).__name__ == "PubSubPublisher"
assert type(deps.store("wattline-daily")).__name__ == "GcsObjectStore"
assert not {"duckdb", "typer", "rich", "wattline.cli", "wattline.local"} & set(sys.modules)
print("ok", main.load_daily_file.__name__)
"""


def test_the_built_source_imports_its_vendored_wattline_and_wires_the_cloud_adapters(tmp_path):
    # Given the deploy source built into a directory
    build = tmp_path / "gcp-loader"
    subprocess.run(["bash", str(SERVICE / "build.sh"), str(build)], check=True, capture_output=True)
    # When main.py is imported from there with cloud settings (no client is contacted)
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=build, capture_output=True, text=True, check=False)
    # Then it uses the vendored package, BigQuery, Pub/Sub and GCS, and pulls in neither DuckDB nor the CLI
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok load_daily_file"
    assert sorted(p.name for p in build.iterdir()) == ["BUILD", "gcp_loader", "main.py", "requirements.txt", "wattline"]


def test_requirements_pin_every_runtime_dependency_and_not_the_workspace_package(tmp_path):
    # Given the deploy source built into a directory
    build = tmp_path / "gcp-loader"
    subprocess.run(["bash", str(SERVICE / "build.sh"), str(build)], check=True, capture_output=True)
    # Then its requirements.txt (exported from uv.lock) pins every package, the clients included, not wattline
    lines = [line for line in (build / "requirements.txt").read_text().splitlines() if line and line[0].isalpha()]
    assert all("==" in line for line in lines)
    names = {line.split("==")[0] for line in lines}
    assert {"functions-framework", "google-cloud-storage", "google-cloud-bigquery", "google-cloud-pubsub"} <= names
    assert "wattline" not in names and "typer" not in names
