"""What a `wattline` command imports before it does anything: start-up is part of every command's time (the end-to-end
benchmark measures `wattline analyze` of an empty file against DuckDB's start-up). Checked by module names in a fresh
interpreter, not by timing."""

import json
import subprocess
import sys
from pathlib import Path

from wattline.cli.main import COMMANDS

# One command line run as the `wattline` script runs it, its output discarded; prints the modules then loaded.
PROBE = """
import contextlib, io, json, sys
sys.argv = ["wattline", *sys.argv[1:]]
from wattline.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""

# Not `google.cloud` itself: functions-framework's .pth file makes it an empty namespace module in every interpreter.
CLOUD_AND_WAREHOUSE_LIBRARIES = (
    "duckdb",
    "boto3",
    "botocore",
    "google.api_core",
    "google.auth",
    "google.cloud.bigquery",
    "google.cloud.pubsub_v1",
    "google.cloud.storage",
    "plotly",
    "pyarrow",
    "paho",
)


def modules_loaded_by(*args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def loaded(modules: set[str], *packages: str) -> list[str]:
    return sorted(name for name in modules if name in packages or name.startswith(tuple(f"{p}." for p in packages)))


def test_analyze_imports_no_cloud_sdk_warehouse_or_local_stack(tmp_path: Path) -> None:
    # Given an empty capture
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    # When `wattline analyze` reads it as JSON
    modules = modules_loaded_by("analyze", str(empty), "--format", "json")
    # Then only the analysis path was imported: no SDK, warehouse, local runtime or aggregator, and no rich table
    assert "wattline.analysis" in modules
    assert loaded(modules, *CLOUD_AND_WAREHOUSE_LIBRARIES) == []
    assert loaded(modules, "wattline.warehouse", "wattline.local", "wattline.aggregation", "wattline.adapters") == []
    assert loaded(modules, "rich.table") == []


def test_the_top_level_help_imports_no_numpy_sdk_or_pipeline() -> None:
    # When `wattline --help` imports every command's module for its help
    modules = modules_loaded_by("--help")
    # Then no command's dependencies came with it (`serve`'s defaults come from its settings module alone)
    assert "wattline.cli.serve" in modules
    assert loaded(modules, *CLOUD_AND_WAREHOUSE_LIBRARIES, "numpy", "msgspec") == []
    assert loaded(modules, "wattline.local.serve", "wattline.aggregation", "wattline.parsing", "wattline.energy") == []


def test_a_command_help_imports_only_that_command() -> None:
    # When `wattline run --help` prints the help of one command
    modules = modules_loaded_by("run", "--help")
    # Then no other command's module and none of the pipeline were imported
    other_commands = {f"wattline.cli.{module}" for module in COMMANDS.values()} - {"wattline.cli.run"}
    assert "wattline.cli.run" in modules
    assert sorted(modules & other_commands) == []
    assert loaded(modules, *CLOUD_AND_WAREHOUSE_LIBRARIES, "numpy", "wattline.local.runtime") == []
