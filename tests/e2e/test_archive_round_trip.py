"""Archive and restore on a local home: `wattline archive` → `wattline restore` → `wattline run` gives back every raw
object and byte-identical daily files and energy; a SIGKILL at any write of `archive` or `restore` loses nothing and
one more plain run of the same command finishes the work. Real processes; faults injected by
tests/helpers/faults/sitecustomize.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wattline.archive import ARCHIVE_PREFIX, INDEX_SUFFIX, BundleIndex, read_bundle, sha256_hex
from wattline.cli.main import app
from wattline.local.ledger import home_ledger
from wattline.local.runtime import Runtime

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[2]
FAULTS = Path(__file__).parents[1] / "helpers" / "faults"
WATTLINE = str(Path(sys.executable).parent / "wattline")
CAPTURE = REPO / "tests" / "fixtures" / "capture-sample.jsonl.gz"
NOW = "2026-12-01T00:00:00+00:00"  # every day of the capture (2026-03-27..29) is closed and older than 2 days
DEVICES = ("shellyem-A4CF12F454A3", "shellyproem50-08f9e0e67204")
RANGE = ["--from", "2026-03-27", "--to", "2026-03-29"]
RESTORE = ["restore", *(arg for device in DEVICES for arg in ("--device", device)), *RANGE]


def files(root: Path) -> dict[str, bytes]:
    """The objects under a directory bucket's prefix, as the store lists them (a write a SIGKILL interrupted leaves
    a `.tmp-` file, which no listing shows)."""
    if not root.is_dir():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".tmp-")
    }


def bucket(home: Path) -> Path:
    return home / "s3" / "wattline-raw"


def energy_rows(home: Path) -> list[dict[str, Any]]:
    runtime = Runtime(home, read_only=True)
    try:
        return runtime.warehouse.query(
            "SELECT device_id, channel, hour_start, import_wh, export_wh, estimated_wh, samples "
            "FROM `{{project}}.{{dataset}}.energy_hourly` ORDER BY device_id, channel, hour_start",
            {},
        )
    finally:
        runtime.close()


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def wattline(home: Path, *args: str, **fault: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(FAULTS), **fault}
    return subprocess.run([WATTLINE, *args, "--home", str(home)], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample capture (two meters, three UTC days) imported into a home and run: aggregated and loaded."""
    home = tmp_path_factory.mktemp("archive") / "home"
    cli("import", str(CAPTURE), "--home", str(home))
    cli("run", "--home", str(home), "--now", NOW, "--quiet")
    return home


@pytest.fixture(scope="module")
def archived(aggregated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("archived") / "home"
    shutil.copytree(aggregated, home)
    cli("archive", "--home", str(home), "--now", NOW)
    return home


def test_archive_restore_and_run_give_back_every_object_and_identical_daily_files(
    aggregated: Path, tmp_path: Path
) -> None:
    # Given an aggregated and loaded home
    home = tmp_path / "home"
    shutil.copytree(aggregated, home)
    raw, daily = files(bucket(home) / "raw"), files(bucket(home) / "daily")
    copied, energy = files(home / "gcs"), energy_rows(home)
    assert raw and daily and energy
    # When its raw days are archived
    cli("archive", "--home", str(home), "--now", NOW)
    # Then raw/ is empty, each device-day is one bundle with its index, and the ledger still balances
    assert files(bucket(home) / "raw") == {}
    assert len([name for name in files(bucket(home) / "archive") if name.endswith(".tar.gz")]) == 6
    assert home_ledger(home, datetime.fromisoformat(NOW)).balanced
    # When they are restored
    restored = cli(*RESTORE, "--home", str(home))
    assert "6 device-days marked for re-aggregation" in restored.output
    # Then every raw object is back byte for byte
    assert files(bucket(home) / "raw") == raw
    # When the home runs (the dirty days are re-aggregated, transferred, loaded)
    cli("run", "--home", str(home), "--now", NOW, "--quiet")
    # Then the daily files, what the transfer copied and the energy are identical, nothing is left dirty
    assert files(bucket(home) / "daily") == daily
    assert files(home / "gcs") == copied
    assert energy_rows(home) == energy
    assert files(bucket(home) / "state" / "dirty") == {}
    ledger = home_ledger(home, datetime.fromisoformat(NOW))
    assert ledger.balanced and not ledger.pending_events


def nothing_lost(home: Path, raw: dict[str, bytes]) -> None:
    """Every original raw object is in raw/ with its bytes, or in a bundle that an index names and whose bytes
    hash to the index's SHA-256 (what the archiver checks before deleting)."""
    in_raw = files(bucket(home) / "raw")
    archived: dict[str, bytes] = {}
    for name, data in files(bucket(home) / "archive").items():
        if not name.endswith(INDEX_SUFFIX):
            continue
        index = BundleIndex.model_validate_json(data)
        bundle = bucket(home) / index.bundle_key
        if not bundle.is_file() or sha256_hex(bundle.read_bytes()) != index.sha256:
            continue
        members = dict(read_bundle(bundle.read_bytes()))
        for member in index.members:
            archived[member.key.removeprefix("raw/")] = members[member.key.rsplit("/", 1)[1]]
    for key, data in raw.items():
        assert in_raw.get(key) == data or archived.get(key) == data, f"{key} lost"


@pytest.fixture(scope="module")
def archive_steps(aggregated: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many write steps (os.replace/link/unlink) an uninterrupted `wattline archive` takes."""
    home = tmp_path_factory.mktemp("count") / "home"
    shutil.copytree(aggregated, home)
    counter = home.parent / "steps"
    done = wattline(home, "archive", "--now", NOW, WATTLINE_TEST_FAULT_COUNT=str(counter))
    assert done.returncode == 0, done.stderr
    return int(counter.read_text().split()[0])


@pytest.mark.parametrize("where", [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
def test_archive_killed_at_any_write_loses_nothing_and_the_next_run_finishes(
    aggregated: Path, archived: Path, archive_steps: int, tmp_path: Path, where: float
) -> None:
    home = tmp_path / "home"
    shutil.copytree(aggregated, home)
    raw = files(bucket(home) / "raw")
    # Given `wattline archive` killed at one write step
    step = max(1, round(where * archive_steps))
    broken = wattline(home, "archive", "--now", NOW, WATTLINE_TEST_FAULT_AT=str(step))
    assert broken.returncode != 0, "the fault hit the run"
    # Then every raw object is still in raw/ or in a verified bundle
    nothing_lost(home, raw)
    # When it runs again
    again = wattline(home, "archive", "--now", NOW)
    assert again.returncode == 0, again.stdout + again.stderr
    # Then the home holds what an uninterrupted archive leaves: the same bundles and indexes, raw/ empty
    assert files(bucket(home) / "archive") == files(bucket(archived) / "archive")
    assert files(bucket(home) / "raw") == {}


@pytest.fixture(scope="module")
def restore_steps(archived: Path, tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many write steps an uninterrupted `wattline restore` of the archived home takes."""
    home = tmp_path_factory.mktemp("count-restore") / "home"
    shutil.copytree(archived, home)
    counter = home.parent / "steps"
    done = wattline(home, *RESTORE, WATTLINE_TEST_FAULT_COUNT=str(counter))
    assert done.returncode == 0, done.stderr
    return int(counter.read_text().split()[0])


@pytest.mark.parametrize("where", [0.1, 0.4, 0.7, 0.95])
def test_restore_killed_at_any_write_is_finished_by_the_next_run(
    aggregated: Path, archived: Path, restore_steps: int, tmp_path: Path, where: float
) -> None:
    home = tmp_path / "home"
    shutil.copytree(archived, home)
    raw = files(bucket(aggregated) / "raw")
    # Given `wattline restore` killed at one write step
    broken = wattline(home, *RESTORE, WATTLINE_TEST_FAULT_AT=str(max(1, round(where * restore_steps))))
    assert broken.returncode != 0
    # When it runs again
    again = wattline(home, *RESTORE)
    assert again.returncode == 0, again.stdout + again.stderr
    # Then every object is back byte for byte, every day is marked for re-aggregation, and the archive is intact
    assert files(bucket(home) / "raw") == raw
    assert len(files(bucket(home) / "state" / "dirty")) == 6
    assert files(bucket(home) / ARCHIVE_PREFIX) == files(bucket(archived) / ARCHIVE_PREFIX)
